package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
)

// BulkClient is an admin client without client-go's default rate limit (5 requests/s), for
// creating thousands of objects.
func (c *Cluster) BulkClient() (kubernetes.Interface, error) {
	cfg := *c.RESTConfig
	cfg.QPS, cfg.Burst = 2000, 4000
	return kubernetes.NewForConfig(&cfg)
}

// Parallel calls fn(ctx, i) for i in [0, n) on workers goroutines and returns the first
// error, after which no new calls start.
func Parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// StartSchedulerConfig runs kube-scheduler with the given KubeSchedulerConfiguration (whose
// clientConnection.kubeconfig should be SchedulerKubeconfig) and waits until it is healthy.
// name names its log and config files. The Component's URL is its secure port, whose
// certificate is self-signed (the Component's Client does not verify it).
func (c *Cluster) StartSchedulerConfig(ctx context.Context, name string, config []byte, extraArgs ...string) (*Component, error) {
	return c.StartSchedulerBinary(ctx, name, c.Bin("kube-scheduler"), config, extraArgs...)
}

// StartSchedulerBinary is StartSchedulerConfig with another kube-scheduler binary, such as
// rktsched-scheduler (kube-scheduler's command with the Rktsched plugin).
func (c *Cluster) StartSchedulerBinary(ctx context.Context, name, binary string, config []byte, extraArgs ...string) (*Component, error) {
	cfgPath := filepath.Join(c.Dir, name+".yaml")
	if err := os.WriteFile(cfgPath, config, 0o600); err != nil {
		return nil, err
	}
	port := FreePort()
	p, err := c.StartProcess(name, binary, append([]string{
		"--config=" + cfgPath,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.Dir, "pki", name),
	}, extraArgs...)...)
	if err != nil {
		return nil, err
	}
	comp := &Component{Process: p, URL: "https://127.0.0.1:" + strconv.Itoa(port), Port: port,
		Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	// /healthz is always allowed without credentials.
	probe := &http.Client{Timeout: time.Second, Transport: comp.Client.Transport}
	if err := waitHTTP(ctx, p, 30*time.Second, probe, comp.URL+"/healthz"); err != nil {
		return nil, err
	}
	return comp, nil
}

// SchedulerKubeconfig is a kubeconfig for the user system:kube-scheduler.
func (c *Cluster) SchedulerKubeconfig() string { return c.schedulerKubeconfig }

// Memory is a process's resident set size now and at its peak, in bytes.
type Memory struct{ RSS, PeakRSS int64 }

// MemoryOf reads /proc/<pid>/status (Linux).
func MemoryOf(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc/%d/status %s: %w", pid, key, err)
		}
		if key == "VmRSS" {
			m.RSS = kib << 10
		} else {
			m.PeakRSS = kib << 10
		}
	}
	return m, sc.Err()
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// CPUTimeOf returns the user plus system CPU time a process has used (Linux).
func CPUTimeOf(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its ')' do not.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
