package crd_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

const samplesDir = "../../config/samples"

// sampleDoc is one YAML document of a sample file.
type sampleDoc struct {
	file  string
	index int
	kind  string
	yaml  []byte
}

// samples returns every document of the YAML files in config/samples,
// which `kubectl apply -f config/samples` applies.
func samples(t *testing.T) []sampleDoc {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("config/samples holds no YAML files")
	}

	var docs []sampleDoc
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", name, i, err)
			}
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: document %d: %v", name, i, err)
			}
			if head.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue // only comments
			}
			docs = append(docs, sampleDoc{file: name, index: i, kind: head.Kind, yaml: doc})
		}
	}
	if len(docs) == 0 {
		t.Fatal("config/samples holds no documents")
	}
	return docs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, line...)
		}
	}
	return out
}

// TestSamplesDecodeStrictly keeps the samples in step with the Go types:
// an unknown or misspelt field fails here, as it does in the all-in-one
// binary's --config loader.
func TestSamplesDecodeStrictly(t *testing.T) {
	kinds := map[string]int{}
	for _, d := range samples(t) {
		kinds[d.kind]++
		var obj any
		switch d.kind {
		case "HelpdeskTenant":
			obj = &v1alpha1.HelpdeskTenant{}
		case "SLAPolicy":
			obj = &v1alpha1.SLAPolicy{}
		case "RoutingRule":
			obj = &v1alpha1.RoutingRule{}
		default:
			t.Errorf("%s: document %d: kind %q is not a kubedesk.io/v1alpha1 kind", d.file, d.index, d.kind)
			continue
		}
		if err := yaml.UnmarshalStrict(d.yaml, obj); err != nil {
			t.Errorf("%s: document %d: %v", d.file, d.index, err)
		}
	}
	for _, k := range []string{"HelpdeskTenant", "SLAPolicy", "RoutingRule"} {
		if kinds[k] == 0 {
			t.Errorf("config/samples has no %s", k)
		}
	}
}

// TestSLAPolicySampleCoversEveryPriority: the sample shows a target for
// each of P1..P5.
func TestSLAPolicySampleCoversEveryPriority(t *testing.T) {
	have := map[v1alpha1.Priority]bool{}
	for _, d := range samples(t) {
		if d.kind != "SLAPolicy" {
			continue
		}
		var p v1alpha1.SLAPolicy
		if err := yaml.Unmarshal(d.yaml, &p); err != nil {
			t.Fatal(err)
		}
		for _, tg := range p.Spec.Targets {
			have[tg.Priority] = true
		}
	}
	for _, p := range []v1alpha1.Priority{"P1", "P2", "P3", "P4", "P5"} {
		if !have[p] {
			t.Errorf("no sample SLAPolicy has a target for %s", p)
		}
	}
}

// commentedBlock is a field left commented out in a sample: a line
// `<indent># key:` and the commented lines under it, indented further
// (`<indent>#   ...`; Go's regexp has no back-references, so uncomment
// checks that the indents agree).
var commentedBlock = regexp.MustCompile(`(?m)^( *)# [A-Za-z][A-Za-z0-9]*:\n(?: *#   .*\n)+`)

// uncomment returns doc with each commented block's lines uncommented,
// and how many blocks there were.
func uncomment(doc []byte) ([]byte, int) {
	n := 0
	out := commentedBlock.ReplaceAllFunc(doc, func(block []byte) []byte {
		indent := commentedBlock.FindSubmatch(block)[1]
		prefix := append(slices.Clip(indent), "# "...)
		var b bytes.Buffer
		for line := range bytes.Lines(block) {
			rest, ok := bytes.CutPrefix(line, prefix)
			if !ok {
				return block // lines of another indent: not one block
			}
			b.Write(indent)
			b.Write(rest)
		}
		n++
		return b.Bytes()
	})
	return out, n
}

// TestCommentedSamplesAccepted: the fields a sample shows commented out
// (the HelpdeskTenant's WeChat account) decode strictly and the API
// server accepts them, once uncommented.
func TestCommentedSamplesAccepted(t *testing.T) {
	wechat := false
	for _, d := range samples(t) {
		doc, n := uncomment(d.yaml)
		if n == 0 {
			continue
		}
		t.Run(fmt.Sprintf("%s#%d", d.file, d.index), func(t *testing.T) {
			switch d.kind {
			case "HelpdeskTenant":
				var ht v1alpha1.HelpdeskTenant
				if err := yaml.UnmarshalStrict(doc, &ht); err != nil {
					t.Fatalf("uncommented: %v\n%s", err, doc)
				}
				wechat = wechat || ht.Spec.Channels.WeChat != nil
			case "SLAPolicy":
				if err := yaml.UnmarshalStrict(doc, &v1alpha1.SLAPolicy{}); err != nil {
					t.Fatalf("uncommented: %v\n%s", err, doc)
				}
			case "RoutingRule":
				if err := yaml.UnmarshalStrict(doc, &v1alpha1.RoutingRule{}); err != nil {
					t.Fatalf("uncommented: %v\n%s", err, doc)
				}
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				t.Fatal(err)
			}
			ensureNamespace(t.Context(), t, u.GetNamespace())
			if err := env.Client.Create(t.Context(), u, client.DryRunAll); err != nil {
				t.Fatalf("create %s %s/%s uncommented: %v", u.GetKind(), u.GetNamespace(), u.GetName(), describe(err))
			}
		})
	}
	if !wechat {
		t.Error("no sample HelpdeskTenant shows a commented spec.channels.wechat")
	}
}

func TestUncomment(t *testing.T) {
	doc := "spec:\n  # A note.\n  # channels:\n  #   wechat:\n  #     appID: wx1\n  ingress:\n    host: x\n    # ignored: this is a note\n"
	want := "spec:\n  # A note.\n  channels:\n    wechat:\n      appID: wx1\n  ingress:\n    host: x\n    # ignored: this is a note\n"
	got, n := uncomment([]byte(doc))
	if string(got) != want || n != 1 {
		t.Errorf("uncomment: %d blocks\n%s\nwant 1\n%s", n, got, want)
	}
}
