// Package argocd runs deploy/argocd/health with Argo CD's own code (v3.2): the Lua VM on the
// cases of health_test.yaml (as argo-cd's resource_customizations tests do), the settings manager
// reading the argocd-cm snippet, and gitops-engine's health.GetResourceHealth for the whole path
// the application controller takes.
package argocd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
	"github.com/argoproj/gitops-engine/pkg/health"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"
)

const (
	snippet   = "../../../deploy/argocd/argocd-cm-snippet.yaml"
	namespace = "argocd"
)

// The checks, each in argo-cd's resource_customizations layout, with the kind it is for.
var kinds = []struct {
	healthDir string
	gk        string
}{
	{"../../../deploy/argocd/health", "drs.cloudops.dev/DrsJobPause"},
	{"../../../deploy/argocd/health-window", "drs.cloudops.dev/DrsPauseWindow"},
}

// The layout of argo-cd's util/lua/health_test.go.
type testStructure struct {
	Tests []individualTest `yaml:"tests"`
}

type individualTest struct {
	InputPath    string              `yaml:"inputPath"`
	HealthStatus health.HealthStatus `yaml:"healthStatus"`
}

// inputsDigest names the digest of deploy/argocd and deploy/flux that tests/health/
// test_go_health.py passes: go test caches a result by the environment variables a test reads,
// but does not look at files outside this module, so reading it makes a changed input rerun.
const inputsDigest = "DRS_HEALTH_INPUTS_DIGEST"

func cases(t *testing.T, healthDir string) []individualTest {
	t.Helper()
	_ = os.Getenv(inputsDigest)
	raw, err := os.ReadFile(filepath.Join(healthDir, "health_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var s testStructure
	if err := yaml.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Tests) == 0 {
		t.Fatal("health_test.yaml has no tests")
	}
	return s.Tests
}

func object(t *testing.T, healthDir, inputPath string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(healthDir, inputPath))
	if err != nil {
		t.Fatal(err)
	}
	// As the application controller gets it from the API server: JSON, integers as int64.
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return obj
}

func name(c individualTest) string {
	return strings.TrimSuffix(filepath.Base(c.InputPath), ".yaml")
}

// TestHealthLua: what argo-cd's own TestLuaHealthScript does for a built-in check, with the
// standard libraries a custom argocd-cm check gets (none beyond base, table, os).
func TestHealthLua(t *testing.T) {
	for _, k := range kinds {
		script, err := os.ReadFile(filepath.Join(k.healthDir, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases(t, k.healthDir) {
			t.Run(k.gk+"/"+name(c), func(t *testing.T) {
				vm := lua.VM{UseOpenLibs: false}
				got, err := vm.ExecuteHealthLua(object(t, k.healthDir, c.InputPath), string(script))
				if err != nil {
					t.Fatal(err)
				}
				if *got != c.HealthStatus {
					t.Errorf("got %+v, want %+v", *got, c.HealthStatus)
				}
			})
		}
	}
}

// overrides loads the argocd-cm snippet the way the application controller does.
func overrides(t *testing.T) lua.ResourceHealthOverrides {
	t.Helper()
	_ = os.Getenv(inputsDigest)
	raw, err := os.ReadFile(snippet)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Name != "argocd-cm" || cm.Namespace != namespace {
		t.Fatalf("snippet is %s/%s, want %s/argocd-cm", cm.Namespace, cm.Name, namespace)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}},
		Data: map[string][]byte{"server.secretkey": []byte("test")},
	}
	client := fake.NewClientset(&cm, secret)
	mgr := settings.NewSettingsManager(context.Background(), client, namespace)
	got, err := mgr.GetResourceOverrides()
	if err != nil {
		t.Fatal(err)
	}
	return lua.ResourceHealthOverrides(got)
}

func TestSettingsManagerReadsTheSnippet(t *testing.T) {
	o := overrides(t)
	for _, k := range kinds {
		script, err := os.ReadFile(filepath.Join(k.healthDir, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		if o[k.gk].HealthLua != string(script) {
			t.Fatalf("argocd-cm override for %s is not its health.lua:\n%s", k.gk, o[k.gk].HealthLua)
		}
		if o[k.gk].UseOpenLibs {
			t.Fatal("the check must work without resource.customizations.useOpenLibs")
		}
	}
	if o["argoproj.io/Application"].HealthLua == "" {
		t.Fatal("no argoproj.io/Application health check in the snippet")
	}
}

// TestGetResourceHealth: the application controller's path, snippet -> overrides -> Lua, through
// gitops-engine. An object being deleted never reaches the Lua in Argo CD 3.x: gitops-engine
// answers Progressing "Pending deletion" first, whatever the script returns.
func TestGetResourceHealth(t *testing.T) {
	o := overrides(t)
	for _, k := range kinds {
		for _, c := range cases(t, k.healthDir) {
			t.Run(k.gk+"/"+name(c), func(t *testing.T) {
				obj := object(t, k.healthDir, c.InputPath)
				want := c.HealthStatus
				if obj.GetDeletionTimestamp() != nil {
					want = health.HealthStatus{Status: health.HealthStatusProgressing, Message: "Pending deletion"}
				}
				got, err := health.GetResourceHealth(obj, o)
				if err != nil {
					t.Fatal(err)
				}
				if got == nil || *got != want {
					t.Errorf("got %+v, want %+v", got, want)
				}
			})
		}
	}
}

// TestOnlyStatusAndMessageLeaveTheScript pins why the deletion branch cannot add anything today:
// Argo CD keeps the status and message of the returned table and nothing else.
func TestOnlyStatusAndMessageLeaveTheScript(t *testing.T) {
	vm := lua.VM{}
	got, err := vm.ExecuteHealthLua(&unstructured.Unstructured{Object: map[string]any{}},
		`return {status = "Progressing", message = "m", deletionMessage = "d"}`)
	if err != nil {
		t.Fatal(err)
	}
	if *got != (health.HealthStatus{Status: health.HealthStatusProgressing, Message: "m"}) {
		t.Fatalf("got %+v", *got)
	}
}
