// Package cluster runs a local Kubernetes control plane for rktsched's end-to-end tests and
// demo: etcd and kube-apiserver on loopback with RBAC on, Node objects that stand for Docker
// and rkt machines (no kubelet: a pod is placed once spec.nodeName is set), kubeconfigs for
// ServiceAccounts made through the TokenRequest API, and kube-scheduler and rktsched's own
// binaries as processes. Every process runs in its own process group and Stop kills them all.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says where the binaries are and how the cluster behaves.
type Config struct {
	// BinDir holds etcd, kube-apiserver, kube-scheduler and kubectl (ControlPlaneBinaries).
	BinDir string
	// Dir is the work directory (data, certificates, kubeconfigs, logs). Empty: a new
	// temporary directory, removed by Stop unless KeepDir is set.
	Dir string
	// KeepDir keeps the work directory after Stop (e.g. to read logs of a failed test).
	KeepDir bool
	// Detach lets the processes outlive this one (make demo KEEP=1). Otherwise the kernel
	// kills them if this process dies without calling Stop.
	Detach bool
	// Logf, if set, reports progress.
	Logf func(format string, args ...any)
}

// Cluster is a running control plane.
type Cluster struct {
	Config
	// Kubeconfig is the admin kubeconfig (group system:masters).
	Kubeconfig string
	// Server is the API server's URL.
	Server string
	// Client is an admin client.
	Client kubernetes.Interface
	// RESTConfig is the admin client's configuration.
	RESTConfig *rest.Config

	schedulerKubeconfig string
	caFile              string
	removeDir           bool

	etcd, apiserver *Process
	apiserverArgs   []string

	mu    sync.Mutex
	procs []*Process
}

// Start starts etcd and kube-apiserver and waits until the API server is ready. On error it
// stops whatever it started.
func Start(ctx context.Context, cfg Config) (c *Cluster, err error) {
	c = &Cluster{Config: cfg}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "rktsched-cluster-"); err != nil {
			return nil, err
		}
		c.removeDir = !c.KeepDir
	}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	for _, d := range []string{"logs", "etcd", "pki", "kubeconfigs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return c, err
		}
	}
	etcdURL, err := c.startEtcd(ctx)
	if err != nil {
		return c, err
	}
	if err := c.startAPIServer(ctx, etcdURL); err != nil {
		return c, err
	}
	c.Logf("control plane ready at %s (work dir %s)", c.Server, c.Dir)
	return c, nil
}

// Stop stops every process the cluster started and removes the work directory unless it is
// to be kept. The API server's clients (kube-scheduler, rktsched) stop together, then the API
// server, then etcd: the API server shuts down cleanly only while etcd runs. It is idempotent.
func (c *Cluster) Stop() {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	var clients []*Process
	for _, p := range procs {
		if p != c.etcd && p != c.apiserver {
			clients = append(clients, p)
		}
	}
	var wg sync.WaitGroup
	for _, p := range clients {
		wg.Go(func() { p.Stop(5 * time.Second) })
	}
	wg.Wait()
	for _, p := range []*Process{c.apiserver, c.etcd} {
		if p != nil {
			p.Stop(5 * time.Second)
		}
	}
	if c.removeDir {
		_ = os.RemoveAll(c.Dir)
		c.removeDir = false
	}
}

// Processes lists the processes started so far (including stopped ones), oldest first.
func (c *Cluster) Processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Process(nil), c.procs...)
}

// StartProcess runs a binary with its output in <dir>/logs/<name>.log. Stop kills it.
func (c *Cluster) StartProcess(name, path string, args ...string) (*Process, error) {
	p, err := startProcess(name, filepath.Join(c.Dir, "logs", name+".log"), c.Detach, path, args...)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, nil
}

// Bin returns the path of a control-plane binary.
func (c *Cluster) Bin(name string) string { return filepath.Join(c.BinDir, name) }

func (c *Cluster) startEtcd(ctx context.Context) (string, error) {
	client, peer := loopbackURL(FreePort()), loopbackURL(FreePort())
	p, err := c.StartProcess("etcd", c.Bin("etcd"),
		"--name=local",
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=local="+peer,
		// A test cluster's data is disposable: skipping fsync makes etcd several times faster.
		"--unsafe-no-fsync",
		"--log-level=warn")
	if err != nil {
		return "", err
	}
	c.etcd = p
	err = waitHTTP(ctx, p, 30*time.Second, &http.Client{Timeout: time.Second}, client+"/health")
	return client, err
}

func (c *Cluster) startAPIServer(ctx context.Context, etcdURL string) error {
	pki := filepath.Join(c.Dir, "pki")
	saKey := filepath.Join(pki, "service-account.key")
	if err := writeRSAKey(saKey); err != nil {
		return err
	}
	adminToken, schedulerToken := randomToken(), randomToken()
	tokens := filepath.Join(pki, "tokens.csv")
	// token,user,uid,"group1,group2": an admin, and kube-scheduler as the user the
	// bootstrap RBAC policy grants scheduling to.
	if err := os.WriteFile(tokens, []byte(fmt.Sprintf("%s,admin,admin,\"system:masters\"\n%s,system:kube-scheduler,kube-scheduler\n",
		adminToken, schedulerToken)), 0o600); err != nil {
		return err
	}
	port := FreePort()
	c.Server = "https://127.0.0.1:" + strconv.Itoa(port)
	certDir := filepath.Join(pki, "apiserver")
	c.caFile = filepath.Join(certDir, "apiserver.crt")
	// Kept for RestartAPIServer: the same port, certificate (in certDir), tokens and keys.
	c.apiserverArgs = []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		// No kube-controller-manager runs, so nothing would ever lift the not-ready taint
		// this plugin puts on new nodes.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--profiling=false",
		// On SIGTERM, close open watches after 2 s rather than wait up to --request-timeout
		// (60 s) for clients to end them: RestartAPIServer stops it under running clients.
		"--shutdown-send-retry-after=true",
	}
	if err := c.launchAPIServer(ctx); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfigs", "admin.kubeconfig")
	if err := c.writeKubeconfig(c.Kubeconfig, "admin", adminToken); err != nil {
		return err
	}
	c.schedulerKubeconfig = filepath.Join(c.Dir, "kubeconfigs", "kube-scheduler.kubeconfig")
	if err := c.writeKubeconfig(c.schedulerKubeconfig, "system:kube-scheduler", schedulerToken); err != nil {
		return err
	}
	var err error
	if c.RESTConfig, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		return err
	}
	// Tests poll: client-go's default of 5 requests per second would pace them instead.
	c.RESTConfig.QPS, c.RESTConfig.Burst = 100, 200
	if c.Client, err = kubernetes.NewForConfig(c.RESTConfig); err != nil {
		return err
	}
	return c.waitAPIServerReady(ctx)
}

// launchAPIServer starts kube-apiserver with c.apiserverArgs and waits for its serving
// certificate.
func (c *Cluster) launchAPIServer(ctx context.Context) error {
	p, err := c.StartProcess("kube-apiserver", c.Bin("kube-apiserver"), c.apiserverArgs...)
	if err != nil {
		return err
	}
	c.apiserver = p
	// The API server writes its self-signed certificate (which is also the CA to trust)
	// before it listens; a restarted one finds it in --cert-dir and keeps it.
	if err := waitFor(ctx, p, 30*time.Second, func() error {
		_, err := os.Stat(c.caFile)
		return err
	}); err != nil {
		return fmt.Errorf("kube-apiserver certificate %s: %w", c.caFile, err)
	}
	return nil
}

// waitAPIServerReady waits until /readyz passes, i.e. every post-start hook ran, including
// the bootstrap RBAC roles; the default namespace is made by a controller inside the API
// server shortly after.
func (c *Cluster) waitAPIServerReady(ctx context.Context) error {
	return waitFor(ctx, c.apiserver, 60*time.Second, func() error {
		if _, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
			return err
		}
		_, err := c.Client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{})
		return err
	})
}

// RestartAPIServer stops kube-apiserver with SIGTERM (as an upgrade or a node reboot would)
// and starts it again with the same flags, port, certificate and tokens, while etcd and
// every client keep running; it returns once the new one is ready. Clients see their
// connections and watches break and must recover on their own.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	old := c.apiserver
	old.Stop(30 * time.Second)
	if err := old.Err(); err != nil {
		return fmt.Errorf("kube-apiserver did not exit cleanly on SIGTERM: %w; last log lines from %s:\n%s", err, old.LogPath, old.LogTail(20))
	}
	if err := c.launchAPIServer(ctx); err != nil {
		return err
	}
	return c.waitAPIServerReady(ctx)
}

// writeKubeconfig writes a kubeconfig for the cluster that authenticates with a bearer token.
func (c *Cluster) writeKubeconfig(path, user, token string) error {
	cfg := clientcmdConfig(c.Server, c.caFile, user, token)
	return clientcmd.WriteToFile(*cfg, path)
}

// Kubectl runs the cluster's kubectl with the admin kubeconfig and returns its combined
// output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Bin("kubectl"), append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// EnsureNamespace creates a namespace and its default ServiceAccount (which the
// ServiceAccount admission plugin needs before it admits pods, and which no controller
// manager creates here), tolerating both existing already.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = c.Client.CoreV1().ServiceAccounts(name).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("no free loopback port: %v", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func loopbackURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errTimeout is returned by waitFor when the process did not become ready in time.
var errTimeout = errors.New("timed out")

// waitFor calls notReady until it returns nil (ready), the process exits, or timeout passes;
// the last reason notReady gave is part of the timeout error.
func waitFor(ctx context.Context, p *Process, timeout time.Duration, notReady func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		why := notReady()
		if why == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w after %v (%w); last log lines from %s:\n%s", p.Name, errTimeout, timeout, why, p.LogPath, p.LogTail(20))
		case <-p.Done():
			return p.exitError()
		case <-tick.C:
		}
	}
}

// waitHTTP waits until GET url answers 200.
func waitHTTP(ctx context.Context, p *Process, timeout time.Duration, client *http.Client, url string) error {
	return waitFor(ctx, p, timeout, func() error { return getOK(ctx, client, url) })
}
