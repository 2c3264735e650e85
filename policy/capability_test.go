package policy

import "testing"

// An unknown capability is never a member, least of all attach, whose index (0) a missing map
// entry used to alias.
func TestCapSetUnknown(t *testing.T) {
	var all capSet
	for _, c := range AllCapabilities {
		all.add(c)
	}
	for _, c := range []Capability{"", "attachh", "ATTACH", "gpuu"} {
		if all.has(c) {
			t.Errorf("the full set has unknown capability %q", c)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("add(%q) of an unknown capability did not panic", c)
				}
			}()
			var s capSet
			s.add(c)
		}()
	}
	var onlyAttach capSet
	onlyAttach.add(Attach)
	if onlyAttach.has("no-such-capability") {
		t.Error("a set of attach answers for an unknown capability")
	}
	if got := onlyAttach.list(); len(got) != 1 || got[0] != Attach {
		t.Errorf("list = %v, want [attach]", got)
	}
	p := Default()
	if got := p.Action("no-such-capability"); got != ActionIgnore {
		t.Errorf("Action(unknown) = %q, want ignore", got)
	}
	if got := p.Weight("no-such-capability"); got != 0 {
		t.Errorf("Weight(unknown) = %d, want 0 (attach's is %d)", got, p.Weight(Attach))
	}
	for _, cl := range p.Classes() {
		if cl.Lacks("no-such-capability") {
			t.Errorf("class %s lacks an unknown capability", cl.Name)
		}
	}
}

func TestCapSetFitsEveryCapability(t *testing.T) {
	if len(AllCapabilities) > 32 {
		t.Fatalf("%d capabilities do not fit a 32-bit capSet", len(AllCapabilities))
	}
	var s capSet
	for i, c := range AllCapabilities {
		s.add(c)
		if got := len(s.list()); got != i+1 {
			t.Fatalf("after adding %d capabilities the set has %d", i+1, got)
		}
	}
}
