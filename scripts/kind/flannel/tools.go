//go:build tools

// Package tools pins flannel's install-conf helper (the DaemonSet's init container).
package tools

import _ "github.com/flannel-io/flannel/cmd/install_conf"
