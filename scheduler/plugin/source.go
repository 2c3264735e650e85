package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
)

// Component names the scheduler in the Events it records about the policy.
const Component = "rktsched-scheduler"

// policySyncTimeout bounds the wait for the policy ConfigMap at start: scheduling with the
// built-in policy while an operator's policy exists but cannot be read would place pods the
// operator's policy refuses.
const policySyncTimeout = 2 * time.Minute

// sharedPolicy is the process's one policy delivery (policysource.Open), which every profile's
// plugin reads: kube-scheduler calls New once per profile.
type sharedPolicy struct {
	args   Args
	source *policysource.Source // nil in unit tests that build a plugin on a store
	store  *policy.Store        // source.Store()
}

// onChange subscribes fn to the policy's changes.
func (sp *sharedPolicy) onChange(fn func(old, cur *policy.Policy)) {
	if sp.source != nil {
		sp.source.OnChange(fn)
	}
}

var shared struct {
	sync.Mutex
	policy *sharedPolicy
}

// openSharedPolicy returns the process's policy, opening its source on first use: the policy
// file or ConfigMap, watched either way (rejected documents go to the log, a Warning Event and
// rktsched_policy_reload_errors_total; the last good policy stays), read before it returns.
func openSharedPolicy(ctx context.Context, args Args, client kubernetes.Interface) (*sharedPolicy, error) {
	shared.Lock()
	defer shared.Unlock()
	if sp := shared.policy; sp != nil {
		if sp.args != args {
			return nil, fmt.Errorf("profiles give different args (%+v, then %+v): one policy serves every profile", sp.args, args)
		}
		return sp, nil
	}
	o := args.options()
	if o.File == "" && client == nil {
		return nil, errors.New("no API client to watch the policy ConfigMap")
	}
	src, err := policysource.Open(ctx, o, policysource.Config{Client: client, Component: Component, EventRef: policysource.PodFromEnv()})
	if err != nil {
		return nil, err
	}
	if err := src.Start(ctx); err != nil {
		return nil, err
	}
	if err := src.WaitForSync(ctx, policySyncTimeout); err != nil {
		return nil, err
	}
	klog.FromContext(ctx).Info("Policy source synced", "source", src.String(), "digest", src.Store().Load().Digest())
	policysource.Register(legacyregistry.Registerer(), src.Store())
	shared.policy = &sharedPolicy{args: args, source: src, store: src.Store()}
	return shared.policy, nil
}
