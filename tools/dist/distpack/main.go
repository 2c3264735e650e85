// Command distpack packs kubectl-rktsched's release: one reproducible .tar.gz per platform
// (the binary and README.md, entries sorted, owner 0, every mtime SOURCE_DATE_EPOCH, no gzip
// timestamp), checksums.txt (sha256, as sha256sum -c reads it), and the krew plugin manifest
// rendered from its template with those checksums. `make dist` builds the binaries and runs it:
//
//	distpack -version V -epoch S -url U -readme README.md -template plugins/rktsched.yaml.tmpl \
//		-build bin/dist-build -out bin/dist linux/amd64 darwin/arm64 ...
//
// The binaries are read from <build>/<os>_<arch>/kubectl-rktsched (.exe on windows).
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
)

const binary = "kubectl-rktsched"

// platform is one release target and what distpack made of it; the template sees these fields.
type platform struct {
	OS, Arch string
	Bin      string // the binary's name in the archive (and krew's bin:)
	Archive  string // the archive's file name
	URI      string // where the release serves the archive
	SHA256   string
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "distpack:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("distpack", flag.ContinueOnError)
	version := fs.String("version", "", "the version, as stamped into the binaries (make's VERSION): archive names and the manifest's spec.version")
	epoch := fs.Int64("epoch", -1, "SOURCE_DATE_EPOCH: the mtime of every archive entry")
	url := fs.String("url", "", "the base URL the archives are served from (the manifest's uri is <url>/<archive>)")
	readme := fs.String("readme", "README.md", "the README put in every archive")
	tmpl := fs.String("template", "plugins/rktsched.yaml.tmpl", "the krew manifest template; writes <out>/plugins/<its name less .tmpl>")
	build := fs.String("build", "", "where the binaries are: <build>/<os>_<arch>/"+binary+"[.exe]")
	out := fs.String("out", "", "the release directory to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *version == "", *epoch < 0, *url == "", *build == "", *out == "", fs.NArg() == 0:
		return fmt.Errorf("-version, -epoch, -url, -build, -out and at least one os/arch are required")
	}
	readmeData, err := os.ReadFile(*readme)
	if err != nil {
		return err
	}
	t, err := template.New(filepath.Base(*tmpl)).Option("missingkey=error").ParseFiles(*tmpl)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*out, "plugins"), 0o755); err != nil {
		return err
	}

	mtime := time.Unix(*epoch, 0).UTC()
	var platforms []platform
	for _, arg := range fs.Args() {
		goos, goarch, ok := strings.Cut(arg, "/")
		if !ok || goos == "" || goarch == "" {
			return fmt.Errorf("platform %q: want os/arch", arg)
		}
		p := platform{OS: goos, Arch: goarch, Bin: binary}
		if goos == "windows" {
			p.Bin += ".exe"
		}
		p.Archive = fmt.Sprintf("%s_%s_%s_%s.tar.gz", binary, *version, goos, goarch)
		p.URI = strings.TrimSuffix(*url, "/") + "/" + p.Archive
		bin, err := os.ReadFile(filepath.Join(*build, goos+"_"+goarch, p.Bin))
		if err != nil {
			return err
		}
		p.SHA256, err = writeArchive(filepath.Join(*out, p.Archive), mtime, []entry{
			{name: p.Bin, mode: 0o755, data: bin},
			{name: "README.md", mode: 0o644, data: readmeData},
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, filepath.Join(*out, p.Archive))
		platforms = append(platforms, p)
	}

	slices.SortFunc(platforms, func(a, b platform) int { return strings.Compare(a.Archive, b.Archive) })
	var sums strings.Builder
	for _, p := range platforms {
		fmt.Fprintf(&sums, "%s  %s\n", p.SHA256, p.Archive)
	}
	checksums := filepath.Join(*out, "checksums.txt")
	if err := os.WriteFile(checksums, []byte(sums.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, checksums)

	kv, err := krewVersion(*version)
	if err != nil {
		return err
	}
	var manifest strings.Builder
	if err := t.Execute(&manifest, struct {
		Version   string
		Platforms []platform
	}{kv, platforms}); err != nil {
		return err
	}
	path := filepath.Join(*out, "plugins", strings.TrimSuffix(filepath.Base(*tmpl), ".tmpl"))
	if err := os.WriteFile(path, []byte(manifest.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

type entry struct {
	name string
	mode int64
	data []byte
}

// writeArchive writes a .tar.gz of entries, sorted by name, that depends on nothing but them
// and mtime, and returns its sha256.
func writeArchive(path string, mtime time.Time, entries []entry) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, sum), gzip.BestCompression)
	if err != nil {
		return "", err
	}
	// gzip.Writer leaves the header's name empty and its mtime zero unless told otherwise.
	tw := tar.NewWriter(zw)
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Mode:     e.mode,
			Size:     int64(len(e.data)),
			ModTime:  mtime,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", err
		}
		if _, err := tw.Write(e.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

var semver = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// krewVersion is the manifest's spec.version, which krew wants to be a v-prefixed semantic
// version: a tag's `git describe` (v1.2.3, v1.2.3-4-gabcdef0) as it is; an untagged build's
// (a commit, maybe -dirty) as the pre-release v0.0.0-dev-<it>.
func krewVersion(v string) (string, error) {
	if semver.MatchString(v) {
		return v, nil
	}
	kv := "v0.0.0-dev-" + v
	if !semver.MatchString(kv) {
		return "", fmt.Errorf("version %q makes no semantic version for krew (%s)", v, kv)
	}
	return kv, nil
}
