package e2e

import (
	"strings"
	"testing"

	"github.com/rktsched/rktsched/policy"
)

// TestBadPolicies checks the e2e table of broken documents without a cluster: each is
// refused by policy.Parse with its expected reason, and the good document it breaks is good.
func TestBadPolicies(t *testing.T) {
	good, err := StdoutLogsPolicy(policy.DefaultDocument())
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest() == policy.Default().Digest() {
		t.Fatal("StdoutLogsPolicy is the default policy")
	}
	rows, err := BadPolicies(good)
	if err != nil {
		t.Fatal(err)
	}
	reaching, seen := 0, map[string]bool{}
	for _, r := range rows {
		t.Run(r.Name, func(t *testing.T) {
			if r.TooLargeForAPI {
				if len(r.Doc) <= policy.MaxDocumentBytes {
					t.Errorf("%d bytes: a ConfigMap takes that", len(r.Doc))
				}
				return
			}
			reaching++
			if seen[r.WantInMessage] {
				t.Errorf("another row wants %q too", r.WantInMessage)
			}
			seen[r.WantInMessage] = true
			if r.Doc == nil {
				return // the key is left out of the ConfigMap
			}
			if len(r.Doc) > policy.MaxDocumentBytes {
				t.Errorf("%d bytes: the API server refuses a ConfigMap that large", len(r.Doc))
			}
			_, err := policy.Parse(r.Doc)
			if err == nil {
				t.Fatal("parses")
			}
			if !strings.Contains(err.Error(), r.WantInMessage) {
				t.Errorf("error %q does not contain %q", err, r.WantInMessage)
			}
			t.Log(err)
		})
	}
	// The recorder's spam filter: 25 Warning Events per source and object.
	if reaching < 10 || reaching > 25 {
		t.Errorf("%d documents reach the binaries, want 10 to 25", reaching)
	}
}
