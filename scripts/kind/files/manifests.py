# kind's default storage manifest (a Go string constant of sigs.k8s.io/kind/pkg/build/nodeimage,
# taken from the kind module in the Go module cache) → <out>/default-storage.yaml; prints the image
# references it uses ("provisioner <ref>" / "helper <ref>") so the build tags its images to match.
# usage: python3 manifests.py <kind module>/pkg/build/nodeimage <out dir>
import os, re, sys

src_dir, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
src = open(os.path.join(src_dir, "const_storage.go")).read()
consts = dict(re.findall(r'const (\w+) = "([^"]+)"', src))
body = re.search(r"const defaultStorageManifest = `(.*?)`\s*\n(?=\S|$)", src, re.S).group(1)
with open(os.path.join(out, "default-storage.yaml"), "w") as f:
    f.write(re.sub(r"` \+ (\w+) \+ `", lambda m: consts[m.group(1)], body))
print("provisioner", consts["storageProvisionerImage"])
print("helper", consts["storageHelperImage"])
