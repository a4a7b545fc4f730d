module github.com/kubedesk/kubedesk/workflows

go 1.26.7
