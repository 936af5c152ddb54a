// Package chart tests the Helm chart in deploy/helm/resetbot by rendering it with Helm v4 (the Go
// module, run as a tool of this module: go tool helm) and decoding every object into the
// Kubernetes API's own types, so a misspelt field fails as it would at kubectl apply.
package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../deploy/helm/resetbot"

// helm runs the Helm CLI built from this module.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "helm"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// rendered is what the chart made, decoded.
type rendered struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	serviceAccount *corev1.ServiceAccount
	pdb            *policyv1.PodDisruptionBudget
	pvc            *corev1.PersistentVolumeClaim
	ingress        *networkingv1.Ingress
	others         map[string]map[string]any // kind → object, for CRDs
}

func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out, err := helm(t, append([]string{"template", "rb", chartDir, "--namespace", "it"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{others: map[string]map[string]any{}}
	for _, doc := range strings.Split(out, "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil || head.Kind == "" {
			continue
		}
		var into any
		switch head.Kind {
		case "Deployment":
			r.deployment = &appsv1.Deployment{}
			into = r.deployment
		case "Service":
			r.service = &corev1.Service{}
			into = r.service
		case "ServiceAccount":
			r.serviceAccount = &corev1.ServiceAccount{}
			into = r.serviceAccount
		case "PodDisruptionBudget":
			r.pdb = &policyv1.PodDisruptionBudget{}
			into = r.pdb
		case "PersistentVolumeClaim":
			r.pvc = &corev1.PersistentVolumeClaim{}
			into = r.pvc
		case "Ingress":
			r.ingress = &networkingv1.Ingress{}
			into = r.ingress
		default:
			m := map[string]any{}
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%s: %v", head.Kind, err)
			}
			r.others[head.Kind] = m
			continue
		}
		// Strict: a field the API does not have is an error, as kubectl apply would say.
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("%s does not decode as the Kubernetes API's type: %v\n%s", head.Kind, err, doc)
		}
	}
	if r.deployment == nil || r.service == nil {
		t.Fatalf("no Deployment or Service rendered:\n%s", out)
	}
	return r
}

func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// checkPod asserts what every rendering shares: the restricted security context, probes on the
// ops port, a grace period covering the drain, a writable /tmp on a read-only root.
func checkPod(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context is not restricted: %+v", psc)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
		t.Errorf("container security context is not restricted: %+v", sc)
	}
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "ops" {
			t.Errorf("%s probe is not on the ops port: %+v", name, p)
		}
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %s, liveness %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	e := env(c)
	if e["RESETBOT_OPS_LISTEN"] != ":9090" || e["RESETBOT_LISTEN"] != ":3978" {
		t.Errorf("listen settings: %v", e)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 5+60 || e["RESETBOT_DRAIN_DELAY"] != "5s" || e["RESETBOT_SHUTDOWN_TIMEOUT"] != "60s" {
		t.Errorf("grace period %v does not cover drain %s + shutdown %s", g, e["RESETBOT_DRAIN_DELAY"], e["RESETBOT_SHUTDOWN_TIMEOUT"])
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the service account token is mounted: the pod needs no API access")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("service links are on: RESETBOT_SERVICE_HOST and the like would look like settings")
	}
	tmp := false
	for _, m := range c.VolumeMounts {
		tmp = tmp || m.MountPath == "/tmp"
	}
	if !tmp {
		t.Error("no writable /tmp on the read-only root")
	}
	return c
}

// Default values: two replicas on PostgreSQL, rolling, a PDB that lets a drain proceed.
func TestChartDefault(t *testing.T) {
	r := render(t)
	if *r.deployment.Spec.Replicas != 2 || r.deployment.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s", *r.deployment.Spec.Replicas, r.deployment.Spec.Strategy.Type)
	}
	checkPod(t, r.deployment)
	if r.pdb == nil || r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() != 1 || r.pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB %+v, want maxUnavailable 1", r.pdb)
	}
	if r.pvc != nil || r.ingress != nil || len(r.others) != 0 {
		t.Errorf("rendered more than asked: pvc %v, ingress %v, %v", r.pvc != nil, r.ingress != nil, r.others)
	}
	if len(r.deployment.Spec.Template.Spec.TopologySpreadConstraints) != 1 {
		t.Error("replicas are not spread over nodes")
	}
	ports := map[string]int32{}
	for _, p := range r.service.Spec.Ports {
		ports[p.Name] = p.Port
	}
	if ports["http"] != 80 || ports["ops"] != 9090 {
		t.Errorf("service ports %v", ports)
	}
}

// PostgreSQL on Azure: workload identity, Entra sign-in to the database, Key Vault secrets, an
// ingress with TLS that routes only the public port, and a ServiceMonitor on the ops port.
func TestChartPostgresOnAzure(t *testing.T) {
	r := render(t, "-f", filepath.Join(chartDir, "ci", "postgres-values.yaml"))
	c := checkPod(t, r.deployment)
	pod := r.deployment.Spec.Template
	if *r.deployment.Spec.Replicas != 2 || r.pdb == nil {
		t.Errorf("replicas %d, pdb %v", *r.deployment.Spec.Replicas, r.pdb != nil)
	}
	if pod.Labels["azure.workload.identity/use"] != "true" || r.serviceAccount.Annotations["azure.workload.identity/client-id"] != "4e5e7b07-0000-4000-8000-000000000001" {
		t.Errorf("workload identity: pod labels %v, service account annotations %v", pod.Labels, r.serviceAccount.Annotations)
	}
	e := env(c)
	if e["RESETBOT_POSTGRES_AUTH"] != "azure" || !strings.HasPrefix(e["RESETBOT_STORE"], "postgres://resetbot-identity@") || e["MICROSOFT_APP_TYPE"] != "UserAssignedMSI" {
		t.Errorf("env %v", e)
	}
	if c.Image != "contosoacr.azurecr.io/resetbot:v1.0.0" {
		t.Errorf("image %s", c.Image)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "rb-resetbot-keyvault" {
		t.Errorf("envFrom %+v", c.EnvFrom)
	}
	spc := r.others["SecretProviderClass"]
	if spc == nil || !strings.Contains(fmt.Sprint(spc), "objectAlias: SLACK_BOT_TOKEN") || !strings.Contains(fmt.Sprint(spc), "secretName:rb-resetbot-keyvault") {
		t.Errorf("SecretProviderClass %v", spc)
	}
	csi := false
	for _, v := range pod.Spec.Volumes {
		csi = csi || (v.CSI != nil && v.CSI.Driver == "secrets-store.csi.k8s.io" && v.CSI.VolumeAttributes["secretProviderClass"] == "rb-resetbot")
	}
	if !csi {
		t.Error("the Key Vault volume is not mounted, so the CSI driver would not fill the Secret")
	}
	ing := r.ingress
	if ing == nil || len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].Hosts[0] != "resetbot.contoso.com" || ing.Spec.TLS[0].SecretName != "rb-resetbot-tls" ||
		ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name != "http" || *ing.Spec.IngressClassName != "webapprouting.kubernetes.azure.com" {
		t.Errorf("ingress %+v", ing)
	}
	sm := r.others["ServiceMonitor"]
	if sm == nil || !strings.Contains(fmt.Sprint(sm), "port:ops") || !strings.Contains(fmt.Sprint(sm), "release:prometheus") {
		t.Errorf("ServiceMonitor %v", sm)
	}
}

// SQLite: one replica that stops before the next starts, the database on a kept volume at /data,
// and no PDB (with one replica it could only block drains).
func TestChartSQLite(t *testing.T) {
	r := render(t, "-f", filepath.Join(chartDir, "ci", "sqlite-values.yaml"))
	c := checkPod(t, r.deployment)
	if *r.deployment.Spec.Replicas != 1 || r.deployment.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s", *r.deployment.Spec.Replicas, r.deployment.Spec.Strategy.Type)
	}
	if r.pdb != nil {
		t.Error("a PDB with one replica")
	}
	if r.pvc == nil || r.pvc.Spec.Resources.Requests.Storage().String() != "2Gi" || r.pvc.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Fatalf("PVC %+v", r.pvc)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.MountPath == "/data"
	}
	claim := false
	for _, v := range r.deployment.Spec.Template.Spec.Volumes {
		claim = claim || (v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == r.pvc.Name)
	}
	if !mounted || !claim {
		t.Errorf("the volume is not mounted at /data (mounted %v, claim %v)", mounted, claim)
	}
	if e := env(c); e["RESETBOT_STORE"] != "sqlite:/data/resetbot.db" || e["RESETBOT_DM_TTL"] != "10m" {
		t.Errorf("env %v", e)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != "resetbot" {
		t.Errorf("envFrom %+v", c.EnvFrom)
	}
	if len(r.deployment.Spec.Template.Spec.TopologySpreadConstraints) != 0 {
		t.Error("spread constraints with one replica")
	}
}

// The schema refuses impossible values before anything reaches the cluster.
func TestChartRefusesImpossibleValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--set", "store.kind=sqlite", "--set", "replicaCount=2"}, "/replicaCount"},
		{[]string{"--set", "store.kind=mysql"}, "/store/kind"},
		{[]string{"--set", "ingress.enabled=true"}, "/ingress/host"},
		{[]string{"--set", "store.postgres.entraAuth=true"}, "/azureWorkloadIdentity/enabled"},
		{[]string{"--set", "azureWorkloadIdentity.enabled=true", "--set", "azureWorkloadIdentity.clientId=resetbot"}, "/azureWorkloadIdentity/clientId"},
		{[]string{"--set", "secrets.keyVault.enabled=true", "--set", "azureWorkloadIdentity.enabled=true", "--set", "azureWorkloadIdentity.clientId=4e5e7b07-0000-4000-8000-000000000001"}, "/secrets/keyVault/name"},
		{[]string{"--set", "replicas=3"}, "additional properties 'replicas' not allowed"},
		{[]string{"--set", "drain.timeoutSeconds=0"}, "/drain/timeoutSeconds"},
	} {
		out, err := helm(t, append([]string{"template", "rb", chartDir}, c.args...)...)
		if err == nil || !strings.Contains(out, c.says) {
			t.Errorf("%v: accepted or not for the right reason (want %q): %v\n%s", c.args, c.says, err, out)
		}
	}
}

// helm lint --strict passes with each set of values.
func TestChartLints(t *testing.T) {
	for _, values := range []string{"", "ci/postgres-values.yaml", "ci/sqlite-values.yaml"} {
		args := []string{"lint", "--strict", chartDir}
		if values != "" {
			args = append(args, "-f", filepath.Join(chartDir, values))
		}
		if out, err := helm(t, args...); err != nil {
			t.Errorf("%s: %v\n%s", values, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(chartDir, "values.schema.json")); err != nil {
		t.Error(err)
	}
}
