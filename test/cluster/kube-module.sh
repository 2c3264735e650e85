# Sourced after versions.env by build.sh and scheduler/hack/gen-gomod.sh, the two scripts that
# write a go.mod requiring k8s.io/kubernetes: what both add beside that requirement, from one
# place, so that the two modules resolve the same versions (`make versions` checks).

# kube_staging prints the staging modules: kubernetes' go.mod replaces them with ./staging
# paths, which a requiring module points at the published KUBE_STAGING_VERSION instead
# (sample-* are not published at this version and not needed).
kube_staging() {
  go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
    sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | xargs cat |
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' |
    grep -v -e sample-cli-plugin -e sample-controller | sort -u
}

# kube_raise prints KUBE_RAISE as "module version" lines.
kube_raise() {
  local r
  for r in $KUBE_RAISE; do echo "${r%@*} ${r#*@}"; done
}
