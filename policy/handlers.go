package policy

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// handlerFeatures are the features a node reports for one runtime handler
// (status.runtimeHandlers[].features), as bits: true is set, false or unreported is not.
type handlerFeatures uint8

const (
	featureRecursiveReadOnly handlerFeatures = 1 << iota
	featureUserNamespaces
)

func featuresOf(recursiveReadOnly, userNamespaces *bool) handlerFeatures {
	var f handlerFeatures
	if recursiveReadOnly != nil && *recursiveReadOnly {
		f |= featureRecursiveReadOnly
	}
	if userNamespaces != nil && *userNamespaces {
		f |= featureUserNamespaces
	}
	return f
}

// String is the features' part of a NodeInputs.Handlers entry: "r" recursive read-only
// mounts, "u" user namespaces.
func (f handlerFeatures) String() string {
	var b []byte
	if f&featureRecursiveReadOnly != 0 {
		b = append(b, 'r')
	}
	if f&featureUserNamespaces != 0 {
		b = append(b, 'u')
	}
	return string(b)
}

// handlerReport is a node's NodeInputs.Handlers read back: the handlers it offers by name
// ("" is the runtime's default handler) and their features.
type handlerReport map[string]handlerFeatures

func parseHandlers(s string) handlerReport {
	if s == "" {
		return nil
	}
	r := handlerReport{}
	for e := range strings.SplitSeq(s, ",") {
		i := strings.LastIndexByte(e, ':')
		var f handlerFeatures
		for _, c := range e[i+1:] {
			switch c {
			case 'r':
				f |= featureRecursiveReadOnly
			case 'u':
				f |= featureUserNamespaces
			}
		}
		r[e[:i]] = f
	}
	return r
}

// offered lists the handlers offered by name, without the default entry "", sorted.
func (r handlerReport) offered() []string {
	var out []string
	for name := range r {
		if name != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// handlerProfile is what a runtime handler lacks wherever it runs, matched by name or glob.
type handlerProfile struct {
	match string // a path.Match pattern
	lacks capSet
}

// profileFor returns the first profile matching handler: the runtime's own list first, then
// the document's. A handler with no profile lacks nothing.
func (p *Policy) profileFor(rt *runtime, handler string) capSet {
	if hp := p.matchProfile(rt, handler); hp != nil {
		return hp.lacks
	}
	return 0
}

func (p *Policy) matchProfile(rt *runtime, handler string) *handlerProfile {
	if handler == "" {
		return nil
	}
	for _, list := range [][]handlerProfile{rt.handlers, p.handlers} {
		for i := range list {
			if ok, _ := path.Match(list[i].match, handler); ok {
				return &list[i]
			}
		}
	}
	return nil
}

// version is a runtime version as the design reads it: the leading [v]MAJOR.MINOR[.PATCH];
// a "-" or "+" suffix is ignored ("2.1.0-rc.1" is 2.1.0, "2.1.4-k3s1" is 2.1.4).
type version [3]int

// versionRE is the leading [v]MAJOR.MINOR[.PATCH] of a runtime version (design, "Versions").
var versionRE = regexp.MustCompile(`^v?(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?`)

// parseVersion reads a version; ok is false for a string without that prefix ("Unknown").
func parseVersion(s string) (v version, ok bool) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return v, false
	}
	for i, part := range m[1:] {
		v[i], _ = strconv.Atoi(part) // "" (no patch) is 0
	}
	return v, true
}

func (v version) less(o version) bool {
	for i := range v {
		if v[i] != o[i] {
			return v[i] < o[i]
		}
	}
	return false
}

// minVersion is a capability that needs at least a version of the runtime.
type minVersion struct {
	capability Capability
	at         version
	text       string // as the document writes it, for reasons: "2.1"
}
