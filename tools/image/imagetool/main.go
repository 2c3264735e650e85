// Command imagetool is the part of `make image` that ko does not do. It works on OCI image
// layouts only, and touches the network only for -push:
//
//	imagetool base -cache KOCACHE
//	    writes an empty static base (linux/amd64 and linux/arm64, user 65532, no files) into
//	    KOCACHE/img, the on-disk cache ko reads a digest-pinned base from before any registry,
//	    and prints its reference for KO_DEFAULTBASEIMAGE.
//	imagetool cache -cache KOCACHE -from LAYOUT
//	    copies the image index LAYOUT holds (ko's --oci-layout-path output) into KOCACHE/img so
//	    that the next ko build can use it as its base, and prints that reference.
//	imagetool final -from LAYOUT -out DIR -name NAME[,NAME...] [-tar FILE] [-push REF]
//	    writes the image index LAYOUT holds as a fresh layout DIR whose index.json lists it once
//	    per NAME (org.opencontainers.image.ref.name, io.containerd.image.name), optionally also as a
//	    tarball of that layout (what `ctr images import` reads), and pushes it to REF if asked.
//
// Everything it writes is a function of its inputs (no timestamps), so the image is
// reproducible.
package main

import (
	"archive/tar"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// cacheRepo names the images imagetool puts in ko's cache. The .invalid domain (RFC 2606)
// never resolves: if ko ever missed its cache, the build would fail rather than pull.
const cacheRepo = "cache.rktsched.invalid/base"

// User is the base's (and so the image's) user: distroless's nonroot.
const User = "65532:65532"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imagetool:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: imagetool base|cache|final [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	cache := fs.String("cache", "", "KOCACHE directory")
	from := fs.String("from", "", "OCI layout holding one image index (ko's output)")
	out := fs.String("out", "", "layout directory to write (replaced)")
	imageName := fs.String("name", "", "image names recorded in index.json, comma-separated (e.g. repo:v1,repo:latest)")
	tarball := fs.String("tar", "", "also write the layout as this tarball")
	push := fs.String("push", "", "push the image index to this reference")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "base platforms")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "base":
		if *cache == "" {
			return errors.New("base: -cache is required")
		}
		idx, err := Base(strings.Split(*platforms, ","))
		if err != nil {
			return err
		}
		return toCache(stdout, *cache, idx)
	case "cache":
		if *cache == "" || *from == "" {
			return errors.New("cache: -cache and -from are required")
		}
		idx, err := readOne(*from)
		if err != nil {
			return err
		}
		return toCache(stdout, *cache, idx)
	case "final":
		if *from == "" || *out == "" || *imageName == "" {
			return errors.New("final: -from, -out and -name are required")
		}
		idx, err := readOne(*from)
		if err != nil {
			return err
		}
		return final(stdout, idx, *out, *imageName, *tarball, *push)
	default:
		return fmt.Errorf("unknown subcommand %q (base, cache, final)", args[0])
	}
}

// Base is an image index of empty images, one per platform ("os/arch"), that run as User.
func Base(platforms []string) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		os, arch, ok := strings.Cut(p, "/")
		if !ok {
			return nil, fmt.Errorf("platform %q is not os/arch", p)
		}
		img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = os, arch
		cf.Config.User = User
		cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: os, Architecture: arch}},
		})
	}
	return idx, nil
}

// toCache adds idx to ko's image cache (KOCACHE/img, an OCI layout) and prints the reference
// ko finds it by. ko looks up the index and then each platform's manifest by digest among the
// layout's top-level descriptors, so both are listed there.
func toCache(stdout io.Writer, cache string, idx v1.ImageIndex) error {
	dir := filepath.Join(cache, "img")
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	have, err := p.ImageIndex()
	if err != nil {
		return err
	}
	listed := map[v1.Hash]bool{}
	if m, err := have.IndexManifest(); err == nil {
		for _, d := range m.Manifests {
			listed[d.Digest] = true
		}
	}
	if !listed[digest] {
		if err := p.AppendIndex(idx); err != nil {
			return err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range m.Manifests {
			if !listed[d.Digest] {
				if err := p.AppendDescriptor(d); err != nil {
					return err
				}
			}
		}
	}
	_, err = fmt.Fprintf(stdout, "%s@%s\n", cacheRepo, digest)
	return err
}

// readOne returns the one image index in the layout at dir; one image (ko's output for a
// single platform) comes back as an index of that image alone.
func readOne(dir string) (v1.ImageIndex, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s: want exactly one image or image index in index.json, have %d descriptors", dir, len(m.Manifests))
	}
	d := m.Manifests[0]
	if d.MediaType.IsIndex() {
		return top.ImageIndex(d.Digest)
	}
	if !d.MediaType.IsImage() {
		return nil, fmt.Errorf("%s: index.json lists a %s, want an image or image index", dir, d.MediaType)
	}
	img, err := top.Image(d.Digest)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	platform := cfg.Platform()
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}}), nil
}

func final(stdout io.Writer, idx v1.ImageIndex, out, names, tarball, push string) error {
	var refs []name.Reference
	for _, n := range strings.Split(names, ",") {
		ref, err := name.ParseReference(n)
		if err != nil {
			return fmt.Errorf("-name: %w", err)
		}
		refs = append(refs, ref)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	for i, ref := range refs {
		annotations := map[string]string{
			// What OCI tools (skopeo, oras, crane) read as the tag...
			"org.opencontainers.image.ref.name": ref.Identifier(),
			// ...and what containerd names the image on `ctr images import`.
			"io.containerd.image.name": ref.Name(),
		}
		if i == 0 {
			err = p.AppendIndex(idx, layout.WithAnnotations(annotations))
		} else {
			var d *v1.Descriptor
			if d, err = partial.Descriptor(idx); err == nil {
				d.Annotations = annotations
				err = p.AppendDescriptor(*d)
			}
		}
		if err != nil {
			return err
		}
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s@%s in %s\n", names, digest, out)
	if tarball != "" {
		if err := tarDir(out, tarball); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: the same layout as a tarball\n", tarball)
	}
	if push != "" {
		dst, err := name.ParseReference(push)
		if err != nil {
			return fmt.Errorf("-push: %w", err)
		}
		if err := remote.WriteIndex(dst, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("pushing %s: %w", dst, err)
		}
		fmt.Fprintf(stdout, "pushed %s@%s\n", dst.Context(), digest)
	}
	return nil
}

// tarDir writes the files under dir to a tarball, sorted, with fixed modes and times.
func tarDir(dir, file string) (err error) {
	var paths []string
	if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, path)
		}
		return err
	}); err != nil {
		return err
	}
	sort.Strings(paths)
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	for _, path := range paths {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}
