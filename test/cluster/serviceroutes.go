package cluster

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// routesChain is the iptables chain (in the nat and filter tables) ServiceRoutes owns.
const routesChain = "RKTSCHED-E2E-SERVICES"

// ServiceRoutes does for a few Services what kube-proxy's iptables mode does, since the real
// node runs no kube-proxy: traffic to a Service's ClusterIP and port, from the host (e.g.
// kube-scheduler calling the extender) or from pods, is DNATed to one of its ready endpoints
// (chosen at random, as kube-proxy does), and refused when it has none. The kubernetes Service
// goes to the API server's loopback port (route_localnet lets pods reach it). Routes follow
// the EndpointSlices; the chain is replaced whole at each change.
type ServiceRoutes struct {
	c      *Cluster
	done   chan struct{}
	syncMu sync.Mutex

	mu       sync.Mutex
	services []types.NamespacedName
	last     string // the rules in force
}

// StartServiceRoutes creates the chain, jumps to it from nat OUTPUT/PREROUTING and filter
// OUTPUT, routes the kubernetes Service, and keeps the routes in step until ctx ends.
// HostState.Restore removes it all.
func StartServiceRoutes(ctx context.Context, c *Cluster) (*ServiceRoutes, error) {
	if err := os.WriteFile(sysctlPath("net.ipv4.conf.all.route_localnet"), []byte("1\n"), 0o644); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"-t", "nat", "-N", routesChain},
		{"-t", "nat", "-I", "OUTPUT", "-j", routesChain},
		{"-t", "nat", "-I", "PREROUTING", "-j", routesChain},
		{"-t", "filter", "-N", routesChain},
		{"-t", "filter", "-I", "OUTPUT", "-j", routesChain},
		{"-t", "filter", "-I", "FORWARD", "-j", routesChain},
	} {
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	r := &ServiceRoutes{c: c, done: make(chan struct{})}
	if err := r.sync(ctx); err != nil {
		return nil, err
	}
	go func() {
		defer close(r.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.sync(ctx); err != nil && ctx.Err() == nil {
					c.Logf("service routes: %v", err)
				}
			}
		}
	}()
	return r, nil
}

// Route routes the Service namespace/name from now on, its rules in force when it returns.
func (r *ServiceRoutes) Route(ctx context.Context, namespace, name string) error {
	r.mu.Lock()
	if s := (types.NamespacedName{Namespace: namespace, Name: name}); !slices.Contains(r.services, s) {
		r.services = append(r.services, s)
	}
	r.mu.Unlock()
	return r.sync(ctx)
}

// Wait waits until the routing loop has ended (its context is done).
func (r *ServiceRoutes) Wait() { <-r.done }

// String returns the rules in force, for test logs.
func (r *ServiceRoutes) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *ServiceRoutes) sync(ctx context.Context) error {
	r.syncMu.Lock() // one sync at a time: the rules written last are the newest
	defer r.syncMu.Unlock()
	r.mu.Lock()
	services := slices.Clone(r.services)
	r.mu.Unlock()
	u, err := url.Parse(r.c.Server)
	if err != nil {
		return err
	}
	var nat, filter []string
	kubernetes, err := r.c.Client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return err
	}
	nat = append(nat, fmt.Sprintf("-A %s -d %s/32 -p tcp --dport 443 -j DNAT --to-destination 127.0.0.1:%s", routesChain, kubernetes.Spec.ClusterIP, u.Port()))
	for _, s := range services {
		svc, err := r.c.Client.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // deleted: nothing to route
		}
		if err != nil {
			return err
		}
		eps, err := r.c.Client.DiscoveryV1().EndpointSlices(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + s.Name})
		if err != nil {
			return err
		}
		for _, port := range svc.Spec.Ports {
			if port.Protocol != v1.ProtocolTCP {
				continue
			}
			targets := readyEndpoints(eps.Items, port.Name)
			match := fmt.Sprintf("-d %s/32 -p tcp --dport %d", svc.Spec.ClusterIP, port.Port)
			if len(targets) == 0 {
				filter = append(filter, fmt.Sprintf("-A %s %s -j REJECT --reject-with icmp-port-unreachable", routesChain, match))
				continue
			}
			for i, t := range targets {
				random := ""
				if left := len(targets) - i; left > 1 {
					random = fmt.Sprintf(" -m statistic --mode random --probability %.5f", 1/float64(left))
				}
				nat = append(nat, fmt.Sprintf("-A %s %s%s -j DNAT --to-destination %s", routesChain, match, random, t))
			}
		}
	}
	rules := "*nat\n:" + routesChain + " - [0:0]\n" + strings.Join(nat, "\n") + "\nCOMMIT\n*filter\n:" + routesChain + " - [0:0]\n" + strings.Join(filter, "\n") + "\nCOMMIT\n"
	rules = strings.ReplaceAll(rules, "\n\n", "\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	if rules == r.last {
		return nil
	}
	// --noflush: only the chain named (":CHAIN") is flushed and refilled, atomically.
	cmd := exec.Command("iptables-restore", "--noflush")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %w: %s\n%s", err, out, rules)
	}
	r.last = rules
	return nil
}

// readyEndpoints lists ip:port of the ready endpoints of the port named portName.
func readyEndpoints(eps []discoveryv1.EndpointSlice, portName string) []string {
	var out []string
	for _, s := range eps {
		for _, p := range s.Ports {
			if p.Port == nil || (p.Name != nil && *p.Name != portName) || (p.Name == nil && portName != "") {
				continue
			}
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && !*e.Conditions.Ready {
					continue
				}
				for _, a := range e.Addresses {
					out = append(out, fmt.Sprintf("%s:%d", a, *p.Port))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
