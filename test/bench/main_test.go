package main

import (
	"encoding/json"
	"slices"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/workload"
)

func TestParseSizes(t *testing.T) {
	for list, want := range map[string][]int{"1000": {1000}, "1000,2500,5000": {1000, 2500, 5000}} {
		if got, err := parseSizes(list); err != nil || !slices.Equal(got, want) {
			t.Errorf("parseSizes(%q) = %v, %v; want %v", list, got, err, want)
		}
	}
	// The cluster only grows: a size below or equal to the last would need nodes deleted.
	for _, list := range []string{"", "0", "1000,", "x", "2500,1000", "1000,1000"} {
		if got, err := parseSizes(list); err == nil {
			t.Errorf("parseSizes(%q) = %v, want an error", list, got)
		}
	}
}

func TestParseModes(t *testing.T) {
	got, err := parseModes("none,noop,names,nodes,answers")
	if err != nil || len(got) != 5 || got[1] != noopMode || got[4] != answersMode {
		t.Errorf("parseModes(all) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "names,none", "none,fast"} {
		if _, err := parseModes(bad); err == nil {
			t.Errorf("parseModes(%q) accepted", bad)
		}
	}
}

func TestRoundOrder(t *testing.T) {
	modes := []mode{withoutExtender, noopMode, namesMode}
	if got := roundOrder(modes, 1); !slices.Equal(got, modes) {
		t.Errorf("round 1: %v, want %v", got, modes)
	}
	want := []mode{withoutExtender, namesMode, noopMode}
	if got := roundOrder(modes, 2); !slices.Equal(got, want) {
		t.Errorf("round 2: %v, want %v", got, want)
	}
	if modes[1] != noopMode {
		t.Errorf("roundOrder changed its argument: %v", modes)
	}
}

// The answers mode's extender refuses and prefers what the policy does, by the pod's name,
// in the JSON rktsched-extender writes.
func TestPolicyAnswers(t *testing.T) {
	classOf := map[string]*policy.Class{}
	var names [][]byte
	for i := range 40 {
		n := workload.Node(i)
		classOf[n.Name] = policy.Default().Profile(n).Class
		names = append(names, []byte(n.Name))
	}
	var a policyAnswers
	a.update(classOf)
	for i := range len(workload.Kinds) + 1 {
		pod := workload.Pod(i + 20) // another pod of the same kind
		analysis := policy.Default().AnalyzeWith(pod, workload.Objects)
		var filtered extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(a.AppendFilter(nil, []byte(pod.Name), names), &filtered); err != nil {
			t.Fatal(err)
		}
		passed, failed := *filtered.NodeNames, filtered.FailedAndUnresolvableNodes
		if len(passed)+len(failed) != len(names) || len(failed) == 0 || len(filtered.FailedNodes) > 0 {
			t.Errorf("%s: %d passed, %d failed of %d nodes", pod.Name, len(passed), len(failed), len(names))
		}
		for _, name := range passed {
			if v := analysis.Verdict(classOf[name]); !v.Fits {
				t.Errorf("%s passed %s: %s", pod.Name, name, v.Reason)
			}
		}
		for name, reason := range failed {
			if v := analysis.Verdict(classOf[name]); v.Fits || reason != v.Reason || reason == "" {
				t.Errorf("%s failed %s for %q; the policy: fits %v, %q", pod.Name, name, reason, v.Fits, v.Reason)
			}
		}
		var passedNames [][]byte
		for _, name := range passed {
			passedNames = append(passedNames, []byte(name))
		}
		var scores extenderv1.HostPriorityList
		if err := json.Unmarshal(a.AppendPrioritize(nil, []byte(pod.Name), passedNames), &scores); err != nil {
			t.Fatal(err)
		}
		for _, hp := range scores {
			if hp.Score <= 0 || hp.Score > policy.MaxScore || !slices.Contains(passed, hp.Host) {
				t.Errorf("%s: score %+v", pod.Name, hp)
			}
		}
		if workload.KindOf(i) == "plain" && (len(scores) == 0 || len(scores) == len(passed)) {
			t.Errorf("plain pod: %d of %d nodes scored, want those with restart back-off only", len(scores), len(passed))
		}
	}
	var filtered extenderv1.ExtenderFilterResult
	if err := json.Unmarshal(a.AppendFilter(nil, []byte("not-the-workloads"), names), &filtered); err != nil || len(*filtered.NodeNames) != len(names) {
		t.Errorf("an unknown pod: %+v, %v", filtered, err)
	}
}
