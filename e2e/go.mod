module github.com/kubedesk/kubedesk/e2e

go 1.26.7
