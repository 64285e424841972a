// Package kstatus reads the statuses the operator renders (deploy/argocd/health/testdata, written
// by tests/health/fixtures.py from status.render) the way kpt and Flux do: kstatus from
// sigs.k8s.io/cli-utils and from Flux's fork, and Flux's evaluator for the healthCheckExprs in
// deploy/flux/kustomization.yaml.
package kstatus

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	fluxstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	fluxcel "github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

const (
	testdata      = "../../../deploy/argocd/health/testdata"
	kustomization = "../../../deploy/flux/kustomization.yaml"
)

// want is what each reader must make of a fixture.
type want struct {
	kstatus string // status.Compute, upstream and Flux's fork alike
	flux    string // Flux with the healthCheckExprs ("Unknown" = the expressions cannot evaluate)
}

var cases = map[string]want{
	// kstatus alone takes an object without status for Current; the expressions do not.
	"progressing_noStatus":                 {"Current", "Unknown"},
	"progressing_pending":                  {"InProgress", "InProgress"},
	"progressing_verifying":                {"InProgress", "InProgress"},
	"progressing_failedWhileOthersPending": {"InProgress", "InProgress"},
	"progressing_staleGeneration":          {"InProgress", "InProgress"},
	"healthy_paused":                       {"Current", "Current"},
	"healthy_pausedAtGeneration3":          {"Current", "Current"},
	"degraded_partiallyPaused":             {"Failed", "Failed"},
	"degraded_failed":                      {"Failed", "Failed"},
	// Operator-level problems: Stalled=True is listed before a False Reconciling.
	"degraded_credentialsNotFound":    {"Failed", "Failed"},
	"degraded_authenticationFailed":   {"Failed", "Failed"},
	"degraded_endpointNotAllowed":     {"Failed", "Failed"},
	"degraded_invalidSpecWhilePaused": {"Failed", "Failed"},
	// As written before that order: kstatus alone reads the first True condition and stops at
	// Reconciling; the expressions read Stalled whatever the order.
	"degraded_credentialsNotFoundPreviousOrder": {"InProgress", "Failed"},
	// spec.resume: waiting for the resume and resumed are done, resuming is progress, a resume
	// that failed for a job needs someone.
	"healthy_pausedUntilResume": {"Current", "Current"},
	"progressing_resuming":      {"InProgress", "InProgress"},
	"healthy_resumed":           {"Current", "Current"},
	"degraded_partiallyResumed": {"Failed", "Failed"},
	// The replication delay: a gate that waits and a catch-up under way are progress; a
	// catch-up that timed out is a failed resume. A plan (spec.dryRun) is a finished result.
	"progressing_waitingForDelay": {"InProgress", "InProgress"},
	"progressing_catchingUp":      {"InProgress", "InProgress"},
	"degraded_catchUpTimedOut":    {"Failed", "Failed"},
	"healthy_planned":             {"Current", "Current"},
	// kstatus reads deletionTimestamp; Flux's evaluator leaves that to the expressions, and
	// these do not look at it.
	"progressing_terminating":              {"Terminating", "InProgress"},
	"progressing_terminatingWithFinalizer": {"Terminating", "Current"},
}

// inputsDigest names the digest of deploy/argocd and deploy/flux that tests/health/
// test_go_health.py passes: go test caches a result by the environment variables a test reads,
// but does not look at files outside this module, so reading it makes a changed input rerun.
const inputsDigest = "DRS_HEALTH_INPUTS_DIGEST"

func fixtures(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	_ = os.Getenv(inputsDigest)
	paths, err := filepath.Glob(filepath.Join(testdata, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in %s (%v)", testdata, err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// As a client gets it from the API server: JSON, integers as int64.
		data, err := yaml.YAMLToJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".yaml")] = obj
	}
	return out
}

func TestEveryFixtureHasExpectations(t *testing.T) {
	var missing, stale []string
	objs := fixtures(t)
	for name := range objs {
		if _, ok := cases[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range cases {
		if _, ok := objs[name]; !ok {
			stale = append(stale, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing)+len(stale) > 0 {
		t.Fatalf("fixtures without expectations: %v; expectations without fixtures: %v", missing, stale)
	}
}

func TestKstatus(t *testing.T) {
	for name, obj := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			up, err := kstatus.Compute(obj)
			if err != nil {
				t.Fatalf("sigs.k8s.io/cli-utils: %v", err)
			}
			fork, err := fluxstatus.Compute(obj)
			if err != nil {
				t.Fatalf("github.com/fluxcd/cli-utils: %v", err)
			}
			if got := string(up.Status); got != cases[name].kstatus {
				t.Errorf("sigs.k8s.io/cli-utils: %s (%s), want %s", got, up.Message, cases[name].kstatus)
			}
			if got := string(fork.Status); got != cases[name].kstatus {
				t.Errorf("github.com/fluxcd/cli-utils: %s (%s), want %s", got, fork.Message, cases[name].kstatus)
			}
		})
	}
}

func healthChecks(t *testing.T) []kustomize.CustomHealthCheck {
	t.Helper()
	_ = os.Getenv(inputsDigest)
	raw, err := os.ReadFile(kustomization)
	if err != nil {
		t.Fatal(err)
	}
	var ks struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			HealthCheckExprs []kustomize.CustomHealthCheck `json:"healthCheckExprs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &ks); err != nil {
		t.Fatal(err)
	}
	if ks.Kind != "Kustomization" || !strings.HasPrefix(ks.APIVersion, "kustomize.toolkit.fluxcd.io/") {
		t.Fatalf("%s is a %s %s, not a Flux Kustomization", kustomization, ks.APIVersion, ks.Kind)
	}
	if len(ks.Spec.HealthCheckExprs) == 0 {
		t.Fatalf("%s has no spec.healthCheckExprs", kustomization)
	}
	return ks.Spec.HealthCheckExprs
}

// TestFluxHealthCheckExprs runs the expressions through the status reader kustomize-controller
// builds from spec.healthCheckExprs (github.com/fluxcd/pkg/runtime/cel).
func TestFluxHealthCheckExprs(t *testing.T) {
	newReader, err := fluxcel.NewStatusReader(healthChecks(t))
	if err != nil {
		t.Fatal(err)
	}
	reader := newReader(nil)
	for name, obj := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			res, err := reader.ReadStatusForObject(context.Background(), nil, obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(res.Status); got != cases[name].flux {
				t.Errorf("Flux: %s (%v), want %s", got, res.Error, cases[name].flux)
			}
			// Without a status, CEL cannot even name status.observedGeneration.
			if res.Status == "Unknown" && (res.Error == nil || !strings.Contains(res.Error.Error(), "no such attribute")) {
				t.Errorf("Flux: Unknown without the expected evaluation error: %v", res.Error)
			}
		})
	}
}

// TestFluxHealthCheckExprsForDrsPauseWindow: the second entry is written for the coming kind with
// the same conventions (observedGeneration, Ready, Stalled), so the same statuses read the same.
func TestFluxHealthCheckExprsForDrsPauseWindow(t *testing.T) {
	checks := healthChecks(t)
	kinds := map[string]bool{}
	for _, hc := range checks {
		kinds[hc.APIVersion+"/"+hc.Kind] = true
	}
	for _, k := range []string{"drs.cloudops.dev/v1alpha1/DrsJobPause", "drs.cloudops.dev/v1alpha1/DrsPauseWindow"} {
		if !kinds[k] {
			t.Fatalf("no healthCheckExprs entry for %s", k)
		}
	}
	newReader, err := fluxcel.NewStatusReader(checks)
	if err != nil {
		t.Fatal(err)
	}
	reader := newReader(nil)
	for name, obj := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			window := obj.DeepCopy()
			window.SetKind("DrsPauseWindow")
			res, err := reader.ReadStatusForObject(context.Background(), nil, window)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(res.Status); got != cases[name].flux {
				t.Errorf("Flux: %s (%v), want %s", got, res.Error, cases[name].flux)
			}
			// Without a status, CEL cannot even name status.observedGeneration.
			if res.Status == "Unknown" && (res.Error == nil || !strings.Contains(res.Error.Error(), "no such attribute")) {
				t.Errorf("Flux: Unknown without the expected evaluation error: %v", res.Error)
			}
		})
	}
}
