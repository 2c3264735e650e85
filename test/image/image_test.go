//go:build image

// Package image checks the image `make image` writes (bin/image/, an OCI image layout) the way
// a container runtime would read it: index → manifest → config → layers. It runs in `make test`
// through `make image-check`, after `make image`; RKTSCHED_IMAGE names another layout.
package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

var repoRoot = filepath.Join("..", "..")

// binaries are what the image must hold under /ko-app/: both daemons, and the CLI where the
// source tree has it.
func binaries(t *testing.T) []string {
	bins := []string{"rktsched-extender", "rktsched-labeler"}
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "kubectl-rktsched")); err == nil {
		bins = append(bins, "kubectl-rktsched")
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return bins
}

func TestImage(t *testing.T) {
	dir := os.Getenv("RKTSCHED_IMAGE")
	if dir == "" {
		dir = filepath.Join(repoRoot, "bin", "image")
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("%s is no OCI image layout (run make image): %v", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	// index.json: one multi-arch image, named for containerd and for OCI tools.
	if len(topManifest.Manifests) == 0 {
		t.Fatal("index.json lists no image")
	}
	digest := topManifest.Manifests[0].Digest
	var names []string
	for _, d := range topManifest.Manifests {
		if d.Digest != digest || !d.MediaType.IsIndex() {
			t.Errorf("index.json lists %s %s, want only the image index %s", d.MediaType, d.Digest, digest)
		}
		name := d.Annotations["io.containerd.image.name"]
		tag := d.Annotations["org.opencontainers.image.ref.name"]
		if name == "" || !strings.HasSuffix(name, ":"+tag) {
			t.Errorf("descriptor annotations %v: want io.containerd.image.name ending in :<org.opencontainers.image.ref.name>", d.Annotations)
		}
		names = append(names, name)
	}
	t.Logf("image %s, named %v", digest, names)

	idx, err := top.ImageIndex(digest)
	if err != nil {
		t.Fatal(err)
	}
	idxManifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range idxManifest.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	slices.Sort(platforms)
	if want := wantPlatforms(); !slices.Equal(platforms, want) {
		t.Errorf("platforms %v, want %v", platforms, want)
	}

	ran := false
	for _, d := range idxManifest.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		arch := d.Platform.Architecture
		t.Run(arch, func(t *testing.T) {
			version := checkConfig(t, img, arch)
			files := extract(t, img)
			for _, bin := range binaries(t) {
				data, ok := files["ko-app/"+bin]
				if !ok {
					t.Errorf("no /ko-app/%s in the layers (have %v)", bin, keys(files))
					continue
				}
				checkStatic(t, bin, data, arch)
				if arch == runtime.GOARCH {
					checkRuns(t, bin, data, version)
					ran = true
				}
			}
		})
	}
	if !ran {
		t.Errorf("no image for this machine's architecture %s: no binary was run", runtime.GOARCH)
	}
}

// checkConfig asserts the config's user, entrypoint, platform and labels, and returns the
// version label.
func checkConfig(t *testing.T, img v1.Image, arch string) string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != arch {
		t.Errorf("config platform %s/%s, want linux/%s", cf.OS, cf.Architecture, arch)
	}
	if cf.Config.User != "65532:65532" && cf.Config.User != "65532" {
		t.Errorf("user %q, want 65532 (non-root)", cf.Config.User)
	}
	if want := []string{"/ko-app/rktsched-extender"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	labels := cf.Config.Labels
	if got := labels["org.opencontainers.image.source"]; got != "https://github.com/rktsched/rktsched" {
		t.Errorf("label org.opencontainers.image.source = %q", got)
	}
	if got := labels["org.opencontainers.image.revision"]; !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(got) {
		t.Errorf("label org.opencontainers.image.revision = %q, want a commit hash", got)
	}
	version := labels["org.opencontainers.image.version"]
	if version == "" || version == "dev" {
		t.Errorf("label org.opencontainers.image.version = %q, want the build's version", version)
	}
	return version
}

// extract returns the regular files of the image's flattened filesystem by path.
func extract(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) == 0 {
		t.Fatal("the image has no layers")
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if files[name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "ko-app/") && h.Mode&0o111 == 0 {
			t.Errorf("/%s is not executable (mode %o)", name, h.Mode)
		}
	}
	return files
}

// wantPlatforms are the platforms the image was built for: make's IMAGE_PLATFORMS, which
// image-check passes on (make test builds this machine's only), else make image's default.
func wantPlatforms() []string {
	list := os.Getenv("RKTSCHED_IMAGE_PLATFORMS")
	if list == "" {
		list = "linux/amd64,linux/arm64"
	}
	platforms := strings.Split(list, ",")
	slices.Sort(platforms)
	return platforms
}

// checkStatic: an ELF executable for arch with no interpreter and no dynamic section, so it
// runs on an empty base.
func checkStatic(t *testing.T, bin string, data []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: not an ELF file: %v", bin, err)
		return
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("%s: machine %v, want %v", bin, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header: not static", bin, p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("%s: has a .dynamic section: not static", bin)
	}
}

// checkRuns runs the binary with --version: it must start on this machine and say the
// version the image's label says.
func checkRuns(t *testing.T, bin string, data []byte, version string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), bin)
	if err := os.WriteFile(file, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(file, "--version").CombinedOutput()
	if err != nil {
		t.Errorf("%s --version: %v\n%s", bin, err, out)
		return
	}
	if !strings.Contains(string(out), version) {
		t.Errorf("%s --version says %q, not the version %q", bin, out, version)
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
