# The Kind node image's default CNI manifest (kind applies /kind/manifests/default-cni.yaml when it
# creates a cluster): flannel's own Documentation/kube-flannel.yml from its Go module, changed only
#  - images: flanneld and install-conf built from flannel's Go module (scripts/kind/flannel), tagged
#    <image>; the flannel CNI plugin is already in the node's /opt/cni/bin (built from
#    github.com/containernetworking/plugins/plugins/meta/flannel), so no install-cni-plugin container
#  - backend host-gw (every Kind node sits on one docker bridge: no vxlan needed on the host)
#  - cniVersion 0.4.0 (what that flannel CNI plugin speaks)
# usage: python3 flannel-manifest.py <flannel module dir> <image> <out file>
import re, sys

mod, image, dst = sys.argv[1:4]
out = open(mod + "/Documentation/kube-flannel.yml").read()
out = re.sub(r"      - name: install-cni-plugin\n(?:        .*\n)+?(?=      - name: install-cni\n)", "", out)
out = re.sub(r"      - name: cni-plugin\n        hostPath:\n          path: /opt/cni/bin\n", "", out)
out = out.replace('"Type": "vxlan"', '"Type": "host-gw"').replace('"cniVersion": "1.0.0"', '"cniVersion": "0.4.0"')
out = re.sub(r"ghcr\.io/flannel-io/flannel:v[0-9.]+", image, out)
if "install-cni-plugin" in out or "cni-plugin\n" in out or out.count(image) != 2 or "host-gw" not in out:
    sys.exit("flannel-manifest.py: kube-flannel.yml changed shape; update this script")
open(dst, "w").write(out)
