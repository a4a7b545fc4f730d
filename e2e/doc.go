// Package e2e holds black-box tests that run kubedesk's built images and
// binaries and talk to them only over their public interfaces.
package e2e
