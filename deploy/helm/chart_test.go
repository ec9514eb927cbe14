// Package helm_test checks the Helm chart in ./callbridge: it lints the chart, renders it with
// the default values and every example, decodes each manifest strictly into its Kubernetes API
// type (a misspelt or misplaced field fails), pins what each example must produce, loads each
// rendered environment with callbridge's own config loader, checks that bad values are
// rejected, and that every value is documented in values.yaml and README.md.
//
// It needs the helm binary (PATH, else $(go env GOPATH)/bin). Without it the tests skip,
// except under CI=true, where they fail.
package helm_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/callbridge/callbridge/internal/config"
	// The vendors register themselves, as in the binary; config rejects unknown vendors.
	_ "github.com/callbridge/callbridge/internal/platform/byai"
	_ "github.com/callbridge/callbridge/internal/platform/yiwise"
)

const (
	chartDir   = "callbridge"
	release    = "cb"
	namespace  = "calls"
	secretsDir = "/var/run/secrets/callbridge"
)

// --- finding and running helm ---

var helmPath = sync.OnceValue(func() string {
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		gopath = strings.TrimSpace(string(out))
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "helm")
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
	}
	return ""
})

func requireHelm(t *testing.T) string {
	t.Helper()
	p := helmPath()
	if p == "" {
		const reason = "helm not found on PATH or in $(go env GOPATH)/bin (go install helm.sh/helm/v3/cmd/helm@latest)"
		if os.Getenv("CI") == "true" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	return p
}

// helm runs helm with args and returns stdout, and stderr folded into the error.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, requireHelm(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}

func valuesArgs(valuesFile string) []string {
	if valuesFile == "" {
		return nil
	}
	return []string{"--values", valuesFile}
}

// --- decoding rendered manifests ---

// manifests holds one rendering, every document decoded into its API type.
type manifests struct {
	deployments     []appsv1.Deployment
	services        []corev1.Service
	serviceAccounts []corev1.ServiceAccount
	configMaps      []corev1.ConfigMap
	secrets         []corev1.Secret
	ingresses       []networkingv1.Ingress
	networkPolicies []networkingv1.NetworkPolicy
	pdbs            []policyv1.PodDisruptionBudget
	hpas            []autoscalingv2.HorizontalPodAutoscaler
	serviceMonitors []unstructured.Unstructured
	prometheusRules []unstructured.Unstructured
	dashboards      []corev1.ConfigMap           // the Grafana dashboard ConfigMap (name ending in -dashboard)
	labels          map[string]map[string]string // every object's labels, by "Kind name"
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// render runs helm template and decodes the result strictly.
func render(t *testing.T, valuesFile string) *manifests {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", namespace}, valuesArgs(valuesFile)...)
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// strict decodes one document into out, failing on unknown or duplicate fields.
func strict[T any](doc []byte, list *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

func decode(out []byte) (*manifests, error) {
	m := &manifests{labels: map[string]map[string]string{}}
	for _, doc := range docSeparator.Split(string(out), -1) {
		if isBlank(doc) {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("%v in:\n%s", err, doc)
		}
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("%v in:\n%s", err, doc)
		}
		m.labels[tm.Kind+" "+meta.Metadata.Name] = meta.Metadata.Labels
		var err error
		switch b := []byte(doc); tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			err = strict(b, &m.deployments)
		case "v1 Service":
			err = strict(b, &m.services)
		case "v1 ServiceAccount":
			err = strict(b, &m.serviceAccounts)
		case "v1 ConfigMap":
			if strings.HasSuffix(meta.Metadata.Name, "-dashboard") {
				err = strict(b, &m.dashboards)
			} else {
				err = strict(b, &m.configMaps)
			}
		case "v1 Secret":
			err = strict(b, &m.secrets)
		case "networking.k8s.io/v1 Ingress":
			err = strict(b, &m.ingresses)
		case "networking.k8s.io/v1 NetworkPolicy":
			err = strict(b, &m.networkPolicies)
		case "policy/v1 PodDisruptionBudget":
			err = strict(b, &m.pdbs)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			err = strict(b, &m.hpas)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			var u unstructured.Unstructured
			if err = yaml.UnmarshalStrict(b, &u.Object); err == nil {
				err = checkServiceMonitor(u)
				m.serviceMonitors = append(m.serviceMonitors, u)
			}
		case "monitoring.coreos.com/v1 PrometheusRule":
			var u unstructured.Unstructured
			if err = yaml.UnmarshalStrict(b, &u.Object); err == nil {
				err = checkPrometheusRule(u)
				m.prometheusRules = append(m.prometheusRules, u)
			}
		default:
			err = fmt.Errorf("unexpected kind %q", tm.APIVersion+" "+tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v in:\n%s", tm.APIVersion, tm.Kind, err, doc)
		}
	}
	return m, nil
}

// isBlank reports whether a document holds only comments and white space.
func isBlank(doc string) bool {
	for line := range strings.SplitSeq(doc, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// checkServiceMonitor checks the fields of a ServiceMonitor the chart writes, since there is
// no Go type to decode it into strictly: required fields present, no unknown ones.
func checkServiceMonitor(u unstructured.Unstructured) error {
	known := map[string][]string{
		"":         {"apiVersion", "kind", "metadata", "spec"},
		"spec":     {"selector", "namespaceSelector", "endpoints", "jobLabel"},
		"endpoint": {"port", "path", "scheme", "interval", "scrapeTimeout", "relabelings", "metricRelabelings"},
	}
	unknown := func(where string, obj map[string]any) error {
		for k := range obj {
			if !slices.Contains(known[where], k) {
				return fmt.Errorf("unknown field %q in %q", k, where)
			}
		}
		return nil
	}
	if err := unknown("", u.Object); err != nil {
		return err
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	if err := unknown("spec", spec); err != nil {
		return err
	}
	if u.GetName() == "" {
		return fmt.Errorf("metadata.name missing")
	}
	if sel, _, _ := unstructured.NestedStringMap(spec, "selector", "matchLabels"); len(sel) == 0 {
		return fmt.Errorf("spec.selector.matchLabels missing")
	}
	endpoints, _, _ := unstructured.NestedSlice(spec, "endpoints")
	if len(endpoints) == 0 {
		return fmt.Errorf("spec.endpoints missing")
	}
	for _, e := range endpoints {
		ep, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("endpoint %v is not an object", e)
		}
		if err := unknown("endpoint", ep); err != nil {
			return err
		}
		if ep["port"] != "http" || ep["path"] != "/metrics" {
			return fmt.Errorf("endpoint scrapes port %v path %v, want http /metrics", ep["port"], ep["path"])
		}
	}
	return nil
}

// --- invariants every rendering must hold ---

// env returns a container's effective environment: its ConfigMap envFrom sources, then env
// (which wins). Variables set with valueFrom map to "<valueFrom>".
func (m *manifests) env(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		i := slices.IndexFunc(m.configMaps, func(cm corev1.ConfigMap) bool { return cm.Name == from.ConfigMapRef.Name })
		if i < 0 && isTrue(from.ConfigMapRef.Optional) {
			continue
		}
		if i < 0 {
			t.Fatalf("container %s: envFrom ConfigMap %q is not rendered", c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range m.configMaps[i].Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			env[e.Name] = "<valueFrom>"
			continue
		}
		env[e.Name] = e.Value
	}
	return env
}

// secretFiles maps each file the "secrets" projected volume provides in a pod to its Secret.
func secretFiles(t *testing.T, d appsv1.Deployment) map[string]string {
	t.Helper()
	files := map[string]string{}
	spec := d.Spec.Template.Spec
	var mountPath string
	for _, vm := range spec.Containers[0].VolumeMounts {
		if vm.Name == "secrets" {
			mountPath = vm.MountPath
			if !vm.ReadOnly {
				t.Errorf("%s: secrets volume mounted read-write", d.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Name != "secrets" {
			continue
		}
		if mountPath == "" || v.Projected == nil {
			t.Fatalf("%s: secrets volume not mounted or not projected", d.Name)
		}
		for _, src := range v.Projected.Sources {
			if src.Secret == nil {
				t.Fatalf("%s: projected source %+v is not a Secret", d.Name, src)
			}
			for _, item := range src.Secret.Items {
				files[mountPath+"/"+item.Path] = src.Secret.Name
			}
		}
	}
	return files
}

var secretLike = regexp.MustCompile(`SECRET|PASSWORD|TOKEN|HASH_KEY|TLS_KEY`)

// checkCommon pins what holds for every values file: labels and selectors line up, the
// security context is the hardened one, probes hit the health endpoints, and secrets only
// ever arrive as files from existing Secrets.
func (m *manifests) checkCommon(t *testing.T) {
	if len(m.deployments) == 0 {
		t.Fatal("no Deployment rendered")
	}
	if len(m.configMaps) != 1 {
		t.Fatalf("rendered %d ConfigMaps, want 1", len(m.configMaps))
	}
	if len(m.secrets) != 0 {
		t.Errorf("the chart must not create Secrets (credentials come from existing ones), rendered %d", len(m.secrets))
	}
	for k := range m.configMaps[0].Data {
		if secretLike.MatchString(k) && !strings.HasSuffix(k, "_FILE") {
			t.Errorf("ConfigMap carries secret-looking variable %s", k)
		}
	}
	for _, d := range m.deployments {
		spec := d.Spec.Template.Spec
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match its pod labels %v", d.Name, d.Spec.Selector, d.Spec.Template.Labels)
		}
		if d.Spec.Template.Annotations["checksum/config"] == "" {
			t.Errorf("%s: no checksum/config pod annotation", d.Name)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: service account token is mounted", d.Name)
		}
		psc := spec.SecurityContext
		if psc == nil || !isTrue(psc.RunAsNonRoot) || !is(psc.RunAsUser, 65532) ||
			psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod securityContext %+v, want runAsNonRoot, runAsUser 65532, seccomp RuntimeDefault", d.Name, psc)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", d.Name, len(spec.Containers))
		}
		c := spec.Containers[0]
		sc := c.SecurityContext
		if sc == nil || !isTrue(sc.RunAsNonRoot) || !is(sc.RunAsUser, 65532) || !isTrue(sc.ReadOnlyRootFilesystem) ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: container securityContext %+v is not the hardened one", d.Name, sc)
		}
		if !slices.Equal(c.Args, []string{"serve"}) {
			t.Errorf("%s: args %v, want [serve]", d.Name, c.Args)
		}
		if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
			t.Errorf("%s: ports %+v, want one named http on 8080", d.Name, c.Ports)
		}
		checkProbe(t, d.Name+" liveness", c.LivenessProbe, "/healthz")
		checkProbe(t, d.Name+" readiness", c.ReadinessProbe, "/readyz")
		if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == "/tmp" }) ||
			!slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "tmp" && v.EmptyDir != nil }) {
			t.Errorf("%s: no emptyDir on /tmp", d.Name)
		}

		env := m.env(t, c)
		if env["CALLBRIDGE_HTTP_ADDR"] != ":8080" {
			t.Errorf("%s: CALLBRIDGE_HTTP_ADDR=%q", d.Name, env["CALLBRIDGE_HTTP_ADDR"])
		}
		for _, e := range c.Env {
			if secretLike.MatchString(e.Name) && !strings.HasSuffix(e.Name, "_FILE") {
				t.Errorf("%s: secret-looking variable %s set in env", d.Name, e.Name)
			}
		}
		files := secretFiles(t, d)
		for name, value := range env {
			if strings.HasSuffix(name, "_FILE") && strings.HasPrefix(name, "CALLBRIDGE_") {
				if _, ok := files[value]; !ok {
					t.Errorf("%s: %s=%s names no file of the mounted Secrets %v", d.Name, name, value, files)
				}
			}
		}
	}

	// Every Service, PDB, HPA, Ingress backend and ServiceMonitor reaches a rendered workload.
	for _, s := range m.services {
		if n := m.podsMatching(labels.SelectorFromSet(s.Spec.Selector)); n != 1 {
			t.Errorf("Service %s selects %d Deployments, want 1", s.Name, n)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != "http" || s.Spec.Ports[0].Port != 8080 || s.Spec.Ports[0].TargetPort.StrVal != "http" {
			t.Errorf("Service %s ports %+v, want http 8080 → http", s.Name, s.Spec.Ports)
		}
	}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || m.podsMatching(sel) != 1 {
			t.Errorf("PodDisruptionBudget %s does not select exactly one Deployment", p.Name)
		}
	}
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		i := slices.IndexFunc(m.deployments, func(d appsv1.Deployment) bool { return d.Name == ref.Name })
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || i < 0 {
			t.Errorf("HPA %s targets %+v, no rendered Deployment", h.Name, ref)
		} else if m.deployments[i].Spec.Replicas != nil {
			t.Errorf("HPA %s: Deployment %s still sets replicas, fighting the autoscaler", h.Name, ref.Name)
		}
		if len(h.Spec.Metrics) == 0 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
			t.Errorf("HPA %s has no CPU metric first: %+v", h.Name, h.Spec.Metrics)
		}
	}
	for _, ing := range m.ingresses {
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				svc := p.Backend.Service
				if svc == nil || !slices.ContainsFunc(m.services, func(s corev1.Service) bool { return s.Name == svc.Name }) || svc.Port.Name != "http" {
					t.Errorf("Ingress %s path %s routes to %+v, no rendered Service port http", ing.Name, p.Path, svc)
				}
			}
		}
	}
	for _, sm := range m.serviceMonitors {
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		n := 0
		for _, s := range m.services {
			if labels.SelectorFromSet(sel).Matches(labels.Set(s.Labels)) {
				n++
			}
		}
		if n != len(m.services) {
			t.Errorf("ServiceMonitor %s selects %d of %d Services", sm.GetName(), n, len(m.services))
		}
	}
	for _, np := range m.networkPolicies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || m.podsMatching(sel) != len(m.deployments) {
			t.Errorf("NetworkPolicy %s does not select every Deployment's pods", np.Name)
		}
	}
}

func (m *manifests) podsMatching(sel labels.Selector) int {
	n := 0
	for _, d := range m.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			n++
		}
	}
	return n
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.StrVal != "http" {
		t.Errorf("%s probe %+v, want HTTP GET %s on port http", what, p, path)
	}
}

func isTrue(b *bool) bool          { return b != nil && *b }
func is(p *int64, want int64) bool { return p != nil && *p == want }

func (m *manifests) deployment(t *testing.T, name string) appsv1.Deployment {
	t.Helper()
	i := slices.IndexFunc(m.deployments, func(d appsv1.Deployment) bool { return d.Name == name })
	if i < 0 {
		t.Fatalf("no Deployment %s", name)
	}
	return m.deployments[i]
}

// --- the tests ---

// valuesFiles lists the renderings under test: defaults (""), every example, and
// testdata/everything.yaml, which turns every option on.
func valuesFiles(t *testing.T) []string {
	t.Helper()
	examples, err := filepath.Glob(filepath.Join(chartDir, "examples", "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	return append(append([]string{""}, examples...), filepath.Join("testdata", "everything.yaml"))
}

func caseName(file string) string {
	if file == "" {
		return "defaults"
	}
	return strings.TrimSuffix(filepath.Base(file), ".yaml")
}

func TestLintStrict(t *testing.T) {
	requireHelm(t)
	for _, file := range valuesFiles(t) {
		t.Run(caseName(file), func(t *testing.T) {
			t.Parallel()
			if _, err := helm(t, append([]string{"lint", "--strict", chartDir}, valuesArgs(file)...)...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRenderedManifests(t *testing.T) {
	requireHelm(t)
	full := release + "-callbridge"
	checks := map[string]func(t *testing.T, m *manifests){
		"defaults": func(t *testing.T, m *manifests) {
			if len(m.deployments) != 1 || m.deployments[0].Name != full {
				t.Fatalf("want one Deployment %s, got %d", full, len(m.deployments))
			}
			env := m.env(t, m.deployments[0].Spec.Template.Spec.Containers[0])
			if env["CALLBRIDGE_INBOUND_ENABLED"] != "true" || env["CALLBRIDGE_OUTBOUND_ENABLED"] != "true" {
				t.Errorf("combined mode must run both halves: inbound=%q outbound=%q", env["CALLBRIDGE_INBOUND_ENABLED"], env["CALLBRIDGE_OUTBOUND_ENABLED"])
			}
			if len(m.services) != 1 || len(m.serviceAccounts) != 1 || len(m.pdbs) != 1 {
				t.Errorf("want one Service, ServiceAccount and PDB; got %d, %d, %d", len(m.services), len(m.serviceAccounts), len(m.pdbs))
			}
			if len(m.hpas)+len(m.ingresses)+len(m.networkPolicies)+len(m.serviceMonitors)+len(m.prometheusRules)+len(m.dashboards) != 0 {
				t.Error("HPA, Ingress, NetworkPolicy, ServiceMonitor, PrometheusRule and dashboard must be off by default")
			}
			s := m.deployments[0].Spec.Strategy
			if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
				s.RollingUpdate.MaxSurge.String() != "1" || s.RollingUpdate.MaxUnavailable.String() != "0" {
				t.Errorf("default strategy %+v, want RollingUpdate with maxSurge 1, maxUnavailable 0", s)
			}
		},
		"minimal": func(t *testing.T, m *manifests) {
			env := m.env(t, m.deployment(t, full).Spec.Template.Spec.Containers[0])
			want := map[string]string{
				"CALLBRIDGE_KAFKA_BROKERS":                        "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092",
				"CALLBRIDGE_ACCOUNTS":                             "byai-main",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR":             "byai",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID":         "10086",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET_FILE":    secretsDir + "/accounts/byai-main/app-secret",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN_FILE": secretsDir + "/accounts/byai-main/webhook-token",
			}
			checkEnv(t, env, want)
			if files := secretFiles(t, m.deployment(t, full)); files[want["CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET_FILE"]] != "byai-main-credentials" {
				t.Errorf("app secret not projected from byai-main-credentials: %v", files)
			}
		},
		"split-hpa": func(t *testing.T, m *manifests) {
			if len(m.deployments) != 2 {
				t.Fatalf("want 2 Deployments, got %d", len(m.deployments))
			}
			for name, flags := range map[string][2]string{full + "-inbound": {"true", "false"}, full + "-outbound": {"false", "true"}} {
				env := m.env(t, m.deployment(t, name).Spec.Template.Spec.Containers[0])
				if got := [2]string{env["CALLBRIDGE_INBOUND_ENABLED"], env["CALLBRIDGE_OUTBOUND_ENABLED"]}; got != flags {
					t.Errorf("%s: inbound/outbound enabled = %v, want %v", name, got, flags)
				}
			}
			if cpu := m.deployment(t, full+"-inbound").Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String(); cpu != "200m" {
				t.Errorf("inbound CPU request %s, want its own 200m", cpu)
			}
			var targets []string
			for _, h := range m.hpas {
				targets = append(targets, h.Spec.ScaleTargetRef.Name)
			}
			slices.Sort(targets)
			if !slices.Equal(targets, []string{full + "-inbound", full + "-outbound"}) {
				t.Errorf("HPAs target %v, want both halves", targets)
			}
			if len(m.pdbs) != 2 || len(m.services) != 2 || len(m.serviceMonitors) != 1 {
				t.Errorf("want 2 PDBs, 2 Services, 1 ServiceMonitor; got %d, %d, %d", len(m.pdbs), len(m.services), len(m.serviceMonitors))
			}
		},
		"tls-scram": func(t *testing.T, m *manifests) {
			d := m.deployment(t, full)
			want := map[string]string{
				"CALLBRIDGE_KAFKA_TLS_ENABLED":        "true",
				"CALLBRIDGE_KAFKA_TLS_CA_FILE":        secretsDir + "/kafka/tls/ca.crt",
				"CALLBRIDGE_KAFKA_SASL_MECHANISM":     "scram-sha-512",
				"CALLBRIDGE_KAFKA_SASL_USERNAME":      "callbridge",
				"CALLBRIDGE_KAFKA_SASL_PASSWORD_FILE": secretsDir + "/kafka/sasl/password",
			}
			checkEnv(t, m.env(t, d.Spec.Template.Spec.Containers[0]), want)
			files := secretFiles(t, d)
			if files[want["CALLBRIDGE_KAFKA_TLS_CA_FILE"]] != "kafka-cluster-ca-cert" || files[want["CALLBRIDGE_KAFKA_SASL_PASSWORD_FILE"]] != "callbridge" {
				t.Errorf("TLS CA / SASL password not projected from their existing Secrets: %v", files)
			}
		},
		"ingress-tls": func(t *testing.T, m *manifests) {
			if len(m.ingresses) != 1 {
				t.Fatalf("want 1 Ingress, got %d", len(m.ingresses))
			}
			ing := m.ingresses[0].Spec
			if ing.IngressClassName == nil || *ing.IngressClassName != "nginx" {
				t.Errorf("ingressClassName %v, want nginx", ing.IngressClassName)
			}
			if len(ing.TLS) != 1 || ing.TLS[0].SecretName != "callbridge-tls" || !slices.Equal(ing.TLS[0].Hosts, []string{"callbridge.example.com"}) {
				t.Errorf("TLS %+v, want callbridge-tls for callbridge.example.com", ing.TLS)
			}
			if len(ing.Rules) != 1 || ing.Rules[0].Host != "callbridge.example.com" || len(ing.Rules[0].HTTP.Paths) != 1 {
				t.Fatalf("rules %+v, want one host with one path", ing.Rules)
			}
			p := ing.Rules[0].HTTP.Paths[0]
			if p.Path != "/webhooks" || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix || p.Backend.Service.Name != full {
				t.Errorf("path %+v, want Prefix /webhooks to %s", p, full)
			}
			env := m.env(t, m.deployment(t, full).Spec.Template.Spec.Containers[0])
			checkEnv(t, env, map[string]string{
				"CALLBRIDGE_ACCOUNTS":                               "yiwise-east,byai-main",
				"CALLBRIDGE_ACCOUNT_YIWISE_EAST_VENDOR":             "yiwise",
				"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN":        "tenant-sign",
				"CALLBRIDGE_ACCOUNT_YIWISE_EAST_RATE_LIMIT":         "10",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_ALLOW_CIDRS":          "203.0.113.0/24,198.51.100.0/24",
				"CALLBRIDGE_TRUSTED_PROXIES":                        "10.0.0.0/8",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VERIFY_CALLBACK_SIGN": "true",
			})
			if len(m.networkPolicies) != 1 || len(m.networkPolicies[0].Spec.Ingress) != 1 || len(m.networkPolicies[0].Spec.Ingress[0].From) != 2 {
				t.Errorf("want one NetworkPolicy admitting the two configured peers")
			}
		},
		"everything": func(t *testing.T, m *manifests) {
			in, out := m.deployment(t, full+"-inbound"), m.deployment(t, full+"-outbound")
			if len(m.serviceAccounts) != 0 || in.Spec.Template.Spec.ServiceAccountName != "existing-sa" {
				t.Errorf("serviceAccount.create=false must use existing-sa and render none")
			}
			if img := in.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") {
				t.Errorf("image %s is not pinned by digest", img)
			}
			env := m.env(t, in.Spec.Template.Spec.Containers[0])
			checkEnv(t, env, map[string]string{
				"CALLBRIDGE_KAFKA_TLS_CERT_FILE":                    secretsDir + "/kafka/tls/tls.crt",
				"CALLBRIDGE_KAFKA_TLS_KEY_FILE":                     secretsDir + "/kafka/tls/tls.key",
				"CALLBRIDGE_PHONE_HASH_KEY_FILE":                    secretsDir + "/phone/hash-key",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID":           "12345678901", // not 1.2345678901e+10
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_RATE_LIMIT":           "0.5",
				"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VERIFY_CALLBACK_SIGN": "false",
				"CALLBRIDGE_WEBHOOK_MAX_BYTES":                      "1048576",
				"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT":                  "10s",
				"OTEL_EXPORTER_OTLP_ENDPOINT":                       "http://otel-collector:4317",
				"OTEL_SERVICE_NAME":                                 "callbridge-stage",
				"GOMEMLIMIT":                                        "<valueFrom>",
			})
			if attrs := env["OTEL_RESOURCE_ATTRIBUTES"]; !strings.Contains(attrs, "callbridge.component=inbound") || !strings.Contains(attrs, "deployment.environment=stage") {
				t.Errorf("OTEL_RESOURCE_ATTRIBUTES=%q lacks the component or the configured attribute", attrs)
			}
			files := secretFiles(t, in)
			for path, secret := range map[string]string{
				env["CALLBRIDGE_KAFKA_TLS_KEY_FILE"]:                     "kafka-client",
				env["CALLBRIDGE_PHONE_HASH_KEY_FILE"]:                    "phone-hash",
				env["CALLBRIDGE_ACCOUNT_YIWISE_EAST_WEBHOOK_TOKEN_FILE"]: "shared-credentials",
			} {
				if files[path] != secret {
					t.Errorf("%s is projected from %q, want %q", path, files[path], secret)
				}
			}
			if tsc := out.Spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].LabelSelector.MatchLabels["app.kubernetes.io/component"] != "" {
				t.Errorf("an explicit labelSelector must be kept as given: %+v", tsc)
			}
			if *out.Spec.Replicas != 3 || in.Spec.Replicas != nil {
				t.Errorf("outbound replicas %v (want 3), inbound replicas %v (want unset under its HPA)", out.Spec.Replicas, in.Spec.Replicas)
			}
			if len(m.hpas) != 1 || len(m.hpas[0].Spec.Metrics) != 2 {
				t.Errorf("want one HPA (inbound) with CPU and memory metrics")
			}
			for _, p := range m.pdbs {
				if p.Name == full+"-outbound" && (p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != "50%") {
					t.Errorf("outbound PDB minAvailable %v, want 50%%", p.Spec.MinAvailable)
				}
			}
			if len(m.ingresses) != 1 || m.ingresses[0].Spec.Rules[0].Host != "" || m.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != full+"-inbound" {
				t.Errorf("an Ingress without hosts must route every host's /webhooks to the inbound Service")
			}
			if len(m.networkPolicies) != 1 || len(m.networkPolicies[0].Spec.Ingress[0].From) != 0 {
				t.Errorf("a NetworkPolicy without peers must admit every source to the HTTP port")
			}
			for obj, l := range m.labels {
				if l["team"] != "calls" || l["cost-center"] != "42" {
					t.Errorf("%s lacks commonLabels: %v", obj, l)
				}
			}
			for _, d := range m.deployments {
				if l := d.Spec.Template.Labels; l["team"] != "calls" {
					t.Errorf("%s: pods lack commonLabels: %v", d.Name, l)
				}
				if _, ok := d.Spec.Selector.MatchLabels["team"]; ok {
					t.Errorf("%s: commonLabels must stay out of the (immutable) selector", d.Name)
				}
				if s := d.Spec.Strategy; s.Type != appsv1.RecreateDeploymentStrategyType || s.RollingUpdate != nil {
					t.Errorf("%s: strategy %+v, want Recreate without rollingUpdate", d.Name, s)
				}
			}
			if len(m.prometheusRules) != 1 {
				t.Fatalf("want one PrometheusRule, got %d", len(m.prometheusRules))
			}
			pr := m.prometheusRules[0]
			if pr.GetLabels()["release"] != "kube-prometheus-stack" {
				t.Errorf("PrometheusRule labels %v lack metrics.prometheusRule.labels", pr.GetLabels())
			}
			rules := alertRules(t, pr)
			if _, ok := rules["CallbridgeLedgerLarge"]; ok {
				t.Errorf("a disabled alert is rendered")
			}
			if r := rules["CallbridgeConsumerLag"]; !strings.Contains(r.Expr, "> 5000 and") || r.Labels["team"] != "calls" || r.Labels["severity"] != "warning" {
				t.Errorf("CallbridgeConsumerLag %+v: want the configured threshold 5000, alertLabels and its severity", r)
			}
			if len(m.dashboards) != 1 {
				t.Fatalf("want one dashboard ConfigMap, got %d", len(m.dashboards))
			}
			dash := m.dashboards[0]
			if dash.Namespace != "monitoring" || dash.Labels["grafana_dashboard"] != "yes" || dash.Annotations["grafana_folder"] != "Calls" {
				t.Errorf("dashboard ConfigMap %s/%s labels %v annotations %v: want the configured namespace, sidecar label and folder", dash.Namespace, dash.Name, dash.Labels, dash.Annotations)
			}
			file, err := os.ReadFile(filepath.Join(chartDir, "dashboards", "callbridge.json"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(dash.Data["callbridge.json"]) != strings.TrimSpace(string(file)) {
				t.Errorf("the ConfigMap does not carry dashboards/callbridge.json verbatim")
			}
		},
	}
	for _, file := range valuesFiles(t) {
		name := caseName(file)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			check, ok := checks[name]
			if !ok {
				t.Fatalf("example %s has no assertions; add them to checks", file)
			}
			m := render(t, file)
			m.checkCommon(t)
			m.checkConfigLoads(t)
			check(t, m)
		})
	}
}

func checkEnv(t *testing.T, env, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
}

// checkConfigLoads feeds each container's rendered environment to the binary's own
// configuration loader, with the mounted Secret files stood in by temporary files: the
// variable names, formats and *_FILE wiring the chart writes are the ones callbridge reads.
func (m *manifests) checkConfigLoads(t *testing.T) {
	for _, d := range m.deployments {
		env := m.env(t, d.Spec.Template.Spec.Containers[0])
		dir := t.TempDir()
		vars := map[string]string{}
		for k, v := range env {
			if v == "<valueFrom>" {
				continue
			}
			if strings.HasSuffix(k, "_FILE") && strings.HasPrefix(v, secretsDir+"/") {
				// A stand-in for the Secret's content, long enough for any minimum (the hash key's
				// 16 bytes) and shaped for the strictest format (43 characters of base64, an AES key).
				path := filepath.Join(dir, strings.TrimPrefix(v, secretsDir+"/"))
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("standInSecret0123456789abcdefghijklmnopqrst\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				v = path
			}
			vars[k] = v
		}
		cfg, err := config.LoadFrom(vars)
		if err != nil {
			t.Fatalf("%s: the binary rejects the rendered configuration: %v", d.Name, err)
		}
		var names []string
		for _, a := range cfg.Accounts {
			names = append(names, a.Name)
		}
		if got := strings.Join(names, ","); got != env["CALLBRIDGE_ACCOUNTS"] {
			t.Errorf("%s: binary loaded accounts %q, chart declared %q", d.Name, got, env["CALLBRIDGE_ACCOUNTS"])
		}
		component := d.Spec.Template.Labels["app.kubernetes.io/component"]
		if cfg.InboundEnabled != (component != "outbound") || cfg.OutboundEnabled != (component != "inbound") {
			t.Errorf("%s (%s): binary runs inbound=%v outbound=%v", d.Name, component, cfg.InboundEnabled, cfg.OutboundEnabled)
		}
	}
}

// TestValuesRejected: mistakes in values fail helm template, and helm lint too where the
// schema catches them (lint only logs a template's fail), with a message naming the problem.
func TestValuesRejected(t *testing.T) {
	requireHelm(t)
	cases := []struct {
		name, values, message string
		byLint                bool
	}{
		{"misspelt top-level key", "acounts: []\n", "additional properties 'acounts' not allowed", true},
		{"misspelt nested key", "config:\n  kafka:\n    brokres: [kafka:9092]\n", "additional properties 'brokres' not allowed", true},
		{"misspelt account field", "accounts:\n  - {name: a, vendor: byai, appKey: k, existingSecret: s, appSecretKye: x}\n", "additional properties 'appSecretKye' not allowed", true},
		{"unknown vendor", "accounts:\n  - {name: a, vendor: twilio, appKey: k, existingSecret: s}\n", "/accounts/0/vendor", false},
		{"account name unusable in a URL", "accounts:\n  - {name: Byai_Main, vendor: byai, appKey: k, existingSecret: s}\n", "/accounts/0/name", false},
		{"unknown SASL mechanism", "config:\n  kafka:\n    sasl: {mechanism: gssapi}\n", "/config/kafka/sasl/mechanism", false},
		{"unknown mode", "mode: both\n", "/mode", false},
		{"SASL without password Secret", "config:\n  kafka:\n    sasl: {mechanism: plain, username: u}\n", "/config/kafka/sasl/existingSecret", true},
		{"hash privacy without key", "config:\n  phonePrivacy: hash\n", "/config/phoneHashKey/existingSecret", false},
		{"half a client certificate", "config:\n  kafka:\n    tls: {enabled: true, existingSecret: s, certKey: tls.crt}\n", "/config/kafka/tls/keyKey", false},
		{"duplicate account", "accounts:\n  - &a {name: a, vendor: byai, appKey: k, companyId: 1, baseUrl: 'https://x', existingSecret: s}\n  - *a\n", "accounts: \"a\" is listed twice", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(file, []byte(c.values), 0o600); err != nil {
				t.Fatal(err)
			}
			cmds := [][]string{{"template", release, chartDir, "--values", file}}
			if c.byLint {
				cmds = append(cmds, []string{"lint", "--strict", chartDir, "--values", file})
			}
			for _, cmd := range cmds {
				_, err := helm(t, cmd...)
				if err == nil {
					t.Errorf("helm %s accepted %q", cmd[0], c.values)
				} else if !strings.Contains(err.Error(), c.message) {
					t.Errorf("helm %s error does not mention %q:\n%v", cmd[0], c.message, err)
				}
			}
		})
	}
}

// TestValuesDocumented: every value in values.yaml carries a `# --` comment, on itself or on
// an enclosing key, and README.md's values table lists exactly the documented keys.
func TestValuesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}

	documented := map[string]bool{}
	keyLine := regexp.MustCompile(`^( *)([A-Za-z0-9_.-]+):`)
	var stack, comment []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "#") {
			comment = append(comment, trimmed)
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil || len(m[1])/2 > len(stack) {
			comment = nil // not a key, or a key inside a list item
			continue
		}
		stack = append(stack[:len(m[1])/2], m[2])
		if slices.ContainsFunc(comment, func(c string) bool { return strings.HasPrefix(c, "# --") }) {
			documented[strings.Join(stack, ".")] = true
		}
		comment = nil
	}

	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, child := range m {
				walk(strings.TrimPrefix(prefix+"."+k, "."), child)
			}
			return
		}
		for p := prefix; ; {
			if documented[p] {
				return
			}
			i := strings.LastIndex(p, ".")
			if i < 0 {
				t.Errorf("values.yaml: %s has no `# --` comment", prefix)
				return
			}
			p = p[:i]
		}
	}
	walk("", values)

	_, section, _ := strings.Cut(string(readme), "\n## Values\n")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(section, -1) {
		rows[m[1]] = true
	}
	for key := range documented {
		if !rows[key] {
			t.Errorf("README.md values table lacks %s", key)
		}
	}
	for key := range rows {
		if !documented[key] {
			t.Errorf("README.md values table lists %s, which values.yaml does not document", key)
		}
	}
}
