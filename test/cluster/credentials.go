package cluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeRSAKey writes a new RSA private key, which the API server uses both to sign
// ServiceAccount tokens and (its public half) to verify them.
func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}

func clientcmdConfig(server, caFile, user, token string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = "local"
	return cfg
}

// ServiceAccountKubeconfig mints a token for a ServiceAccount through the TokenRequest API
// and writes a kubeconfig that authenticates with it, so that a process run with it has
// exactly the permissions RBAC grants that ServiceAccount. The token lasts a day.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name string) (string, error) {
	expiry := int64(24 * 60 * 60)
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	path := filepath.Join(c.Dir, "kubeconfigs", namespace+"."+name+".kubeconfig")
	user := "system:serviceaccount:" + namespace + ":" + name
	if err := clientcmd.WriteToFile(*clientcmdConfig(c.Server, c.caFile, user, tr.Status.Token), path); err != nil {
		return "", err
	}
	return path, nil
}

// SelfContainedKubeconfig writes the kubeconfig at src to dst with the CA certificate
// embedded rather than referenced by path, for a container that sees none of the host's files
// (kubeadm's /etc/kubernetes/scheduler.conf is written the same way).
func SelfContainedKubeconfig(src, dst string) error {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return err
	}
	for name, cl := range cfg.Clusters {
		if cl.CertificateAuthority == "" {
			continue
		}
		if cl.CertificateAuthorityData, err = os.ReadFile(cl.CertificateAuthority); err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
		cl.CertificateAuthority = ""
	}
	return clientcmd.WriteToFile(*cfg, dst)
}
