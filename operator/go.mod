module github.com/kubedesk/kubedesk/operator

go 1.26.7
