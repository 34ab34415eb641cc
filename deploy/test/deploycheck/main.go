// Command deploycheck validates the deployment files with the parsers of the real tools, with
// no Docker engine and no Kubernetes cluster:
//
//	deploycheck dockerfile <Dockerfile>   BuildKit's parser and `docker build --check` rules
//	deploycheck compose <compose file>    compose-go, the loader of `docker compose`
//	deploycheck k8s-strict < objects.yaml strict decoding into the Kubernetes API types
//	                                      (client-go scheme + Prometheus Operator types):
//	                                      unknown or duplicate fields are errors
//
// It prints one problem per line and exits 1 when there is any; 0 and a summary otherwise.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var problems []string
	var summary string
	var err error
	switch os.Args[1] {
	case "dockerfile":
		if len(os.Args) != 3 {
			usage()
		}
		problems, summary, err = checkDockerfile(os.Args[2])
	case "compose":
		if len(os.Args) != 3 {
			usage()
		}
		problems, summary, err = checkCompose(os.Args[2])
	case "k8s-strict":
		problems, summary, err = checkKubernetes(os.Stdin)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploycheck:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Println("ok:", summary)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: deploycheck dockerfile <file> | compose <file> | k8s-strict < objects.yaml")
	os.Exit(2)
}

// offlineResolver answers BuildKit's base-image lookups without a registry: an empty
// linux/amd64 image config. The lint rules only need a platform and an environment.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

func checkDockerfile(path string) ([]string, string, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	ctx := context.Background()
	src := llb.Local("dockerfile")
	def, err := src.Marshal(ctx)
	if err != nil {
		return nil, "", err
	}
	sm := llb.NewSourceMap(&src, filepath.Base(path), "Dockerfile", dt)
	sm.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{},
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		return nil, "", err
	}
	var problems []string
	if res.Error != nil {
		problems = append(problems, fmt.Sprintf("%s: build error: %s", path, res.Error.Message))
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		problems = append(problems, fmt.Sprintf("%s:%d: %s: %s (%s)", path, line, w.RuleName, w.Detail, w.URL))
	}
	return problems, fmt.Sprintf("%s parses and passes the BuildKit lint rules", path), nil
}

func checkCompose(path string) ([]string, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", err
	}
	dt, err := os.ReadFile(abs)
	if err != nil {
		return nil, "", err
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: dt}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("hishamos", true)
	})
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}, "", nil
	}
	var problems []string
	for name, svc := range project.Services {
		if svc.Build == nil {
			continue
		}
		dockerfile := filepath.Join(svc.Build.Context, svc.Build.Dockerfile)
		if _, err := os.Stat(dockerfile); err != nil {
			problems = append(problems, fmt.Sprintf("%s: service %s: build file %s: %v", path, name, dockerfile, err))
		}
	}
	for name, svc := range project.Services {
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					problems = append(problems, fmt.Sprintf("%s: service %s: bind mount %s: %v", path, name, v.Source, err))
				}
			}
		}
	}
	return problems, fmt.Sprintf("%s loads with compose-go (%d services)", path, len(project.Services)), nil
}

func checkKubernetes(in io.Reader) ([]string, string, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	if err := monitoringv1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var problems []string
	count := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		count++
		_, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			where := "document " + fmt.Sprint(count)
			if gvk != nil {
				where = gvk.Kind + " (" + gvk.GroupVersion().String() + ") in " + where
			}
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
		}
	}
	return problems, fmt.Sprintf("%d objects decode strictly", count), nil
}

func stripComments(doc []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}
