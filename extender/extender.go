// Package extender is rktsched's kube-scheduler HTTP extender: filter, prioritize and preempt
// answer whether a node's container runtime can run a pod, from the policy in force.
//
// Requests and answers are the k8s.io/kube-scheduler/extender/v1 types on the wire. Node
// lists are not decoded into v1.Node: each verb reads the fields the policy looks at and
// hands the raw bytes of the nodes that pass back unchanged (see internal/wire).
//
// The extender trusts no caller: a cached pod analysis or node profile is reused only for the
// same bytes, every cache is bounded, requests past MaxInFlight get 429, requests wait for
// room in the memory budget (MaxBytesInFlight, budget.go), requests past a per-request bound
// get 413, and the verbs answer 503 until Ready has nothing left to wait for.
package extender

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// Config is what a Server is made of.
type Config struct {
	// Policy holds the policy in force; required.
	Policy *policy.Store
	// Nodes answers node-name (nodeCacheCapable) requests. Nil means standalone: only
	// requests that carry full Node objects are served.
	Nodes *NodeCache
	// PodCacheTTL is how long a pod's analysis is kept for the next verb of its scheduling cycle.
	PodCacheTTL time.Duration
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Registry receives the extender's metrics and serves /metrics. Nil makes a new one; a
	// given one must not hold rktsched metrics yet.
	Registry *prometheus.Registry
	// Ready reports what the server still waits for (nil error: nothing) before /readyz
	// turns 200 and the verbs answer: until then they answer 503, failing closed rather than
	// judging with a policy not yet read or a node cache not yet filled. Nil means ready.
	Ready func() error
	// MaxInFlight caps the verb requests served at once; past it they get 429 at once. Zero
	// means DefaultMaxInFlight.
	MaxInFlight int
	// MaxBytesInFlight is the memory the verb requests being served may hold together
	// (budget.go); past it they wait their turn, and get 429 after a few seconds. Zero
	// means DefaultMaxBytesInFlight.
	MaxBytesInFlight int64
	// MaxNodesPerRequest bounds the Nodes, NodeNames or nodes with victims of a request, and
	// MaxVictimsPerRequest the victim pods of a preemption request; past them it gets 413.
	// Zero means DefaultMaxNodesPerRequest, DefaultMaxVictimsPerRequest.
	MaxNodesPerRequest, MaxVictimsPerRequest int
	// Clock is the pod cache's clock; nil is the real one.
	Clock clock.PassiveClock
	// Version is reported by /version and rktsched_build_info.
	Version string
	// Logger receives request logs; the zero value means klog.Background().
	Logger klog.Logger
	// Profiling serves Go's profiles under /debug/pprof/.
	Profiling bool
}

// Server answers kube-scheduler's extender calls. It is an http.Handler.
type Server struct {
	store        *policy.Store
	nodes        *NodeCache
	pods         *podCache
	passed       *passedNodes
	remembered   *rememberedNodes
	inFlight     chan struct{}
	maxBodyBytes int64
	registry     *prometheus.Registry
	metrics      *metrics
	ready        func() error
	version      string
	logger       klog.Logger
	profiling    bool
	handler      http.Handler

	// The memory budget (budget.go), the pool of calls, the per-request bounds: limits'
	// (maxNodes, maxVictims) and wire.Shape's (maxOpenMembers).
	budget                               budget
	pool                                 callPool
	limits                               wire.Limits
	maxNodes, maxVictims, maxOpenMembers int
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.Policy == nil || cfg.Policy.Load() == nil {
		errs = append(errs, errors.New("a policy store holding a policy is required"))
	}
	if cfg.PodCacheTTL <= 0 {
		errs = append(errs, errors.New("the pod cache TTL must be positive"))
	}
	if cfg.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("the maximum body size must be positive"))
	}
	if cfg.MaxInFlight < 0 {
		errs = append(errs, errors.New("the maximum of requests in flight must be positive"))
	}
	if cfg.MaxBytesInFlight < 0 || cfg.MaxNodesPerRequest < 0 || cfg.MaxVictimsPerRequest < 0 {
		errs = append(errs, errors.New("the memory budget and the per-request bounds must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxBytesInFlight == 0 {
		cfg.MaxBytesInFlight = DefaultMaxBytesInFlight
	}
	if cfg.MaxNodesPerRequest == 0 {
		cfg.MaxNodesPerRequest = DefaultMaxNodesPerRequest
	}
	if cfg.MaxVictimsPerRequest == 0 {
		cfg.MaxVictimsPerRequest = DefaultMaxVictimsPerRequest
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger.GetSink() == nil {
		cfg.Logger = klog.Background()
	}
	s := &Server{
		store:        cfg.Policy,
		nodes:        cfg.Nodes,
		pods:         newPodCache(cfg.PodCacheTTL, cfg.Clock),
		passed:       newPassedNodes(),
		remembered:   newRememberedNodes(),
		inFlight:     make(chan struct{}, cfg.MaxInFlight),
		maxBodyBytes: cfg.MaxBodyBytes,
		registry:     cfg.Registry,
		ready:        cfg.Ready,
		version:      cfg.Version,
		logger:       cfg.Logger.WithName("extender"),
		profiling:    cfg.Profiling,
		budget:       newBudget(cfg.MaxBytesInFlight),
		limits:       wire.Limits{Nodes: cfg.MaxNodesPerRequest, Victims: cfg.MaxVictimsPerRequest},
		maxNodes:     cfg.MaxNodesPerRequest,
		maxVictims:   cfg.MaxVictimsPerRequest,
	}
	if s.nodes != nil {
		s.nodes.classifyAll(cfg.Policy.Load())
	}
	// A preemption request holds an object of its nodes open while it reads them.
	s.maxOpenMembers = max(DefaultMaxOpenMembers, 2*cfg.MaxNodesPerRequest)
	var err error
	if s.metrics, err = newMetrics(cfg.Registry, cfg.Version, cfg.Nodes, cfg.Policy, cfg.MaxInFlight, &s.budget); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the extender's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// PolicyChanged drops what was worked out with the previous policy. Answers never mix
// policies anyway (each request judges with the policy it loaded first); this frees memory
// and classifies the cached nodes before the next request needs them.
func (s *Server) PolicyChanged(p *policy.Policy) {
	s.pods.flush()
	if s.nodes != nil {
		s.nodes.classifyAll(p)
	}
}
