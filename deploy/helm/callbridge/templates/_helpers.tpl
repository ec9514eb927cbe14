{{/* Chart name. */}}
{{- define "callbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "callbridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart label value. */}}
{{- define "callbridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every resource (and the pods), commonLabels included. */}}
{{- define "callbridge.labels" -}}
helm.sh/chart: {{ include "callbridge.chart" . }}
{{ include "callbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels selecting every pod of the release. */}}
{{- define "callbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "callbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The Deployments this release runs, space-separated: "combined", or "inbound outbound".
*/}}
{{- define "callbridge.components" -}}
{{- if eq .Values.mode "split" }}inbound outbound{{ else }}combined{{ end }}
{{- end }}

{{/*
Name of one component's resources (Deployment, Service, HPA, PDB).
Call with (dict "root" $ "component" "inbound").
*/}}
{{- define "callbridge.componentFullname" -}}
{{- $fullname := include "callbridge.fullname" .root }}
{{- if eq .component "combined" }}
{{- $fullname }}
{{- else }}
{{- printf "%s-%s" ($fullname | trunc 54 | trimSuffix "-") .component }}
{{- end }}
{{- end }}

{{/* Labels of one component's resources. Call with (dict "root" $ "component" "inbound"). */}}
{{- define "callbridge.componentLabels" -}}
{{ include "callbridge.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component's pods. Call with (dict "root" $ "component" "inbound"). */}}
{{- define "callbridge.componentSelectorLabels" -}}
{{ include "callbridge.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The Service webhooks are routed to: inbound in split mode, else combined. */}}
{{- define "callbridge.webhookComponent" -}}
{{- if eq .Values.mode "split" }}inbound{{ else }}combined{{ end }}
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "callbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "callbridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference. */}}
{{- define "callbridge.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Environment variable prefix of one account: CALLBRIDGE_ACCOUNT_<NAME>_ (NAME upper-cased, "-" as "_"). */}}
{{- define "callbridge.accountPrefix" -}}
{{- printf "CALLBRIDGE_ACCOUNT_%s_" (.name | upper | replace "-" "_") }}
{{- end }}

{{/*
The variable suffix of an account field: the field in UPPER_SNAKE_CASE, e.g. tenantSign is
TENANT_SIGN (platform.Setting.Key in reverse).
*/}}
{{- define "callbridge.settingName" -}}
{{- . | snakecase | upper }}
{{- end }}

{{/*
"true" when an account field has a value to render: booleans and numbers always (false
and 0 are values), strings, lists and maps when not empty, null never.
*/}}
{{- define "callbridge.isSet" -}}
{{- if or (kindIs "bool" .) (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) (not (empty .)) }}true{{ end }}
{{- end }}

{{/*
An account field as an environment string: lists joined with ",", maps as k=v joined with
"," (keys sorted), scalars as callbridge.envString.
*/}}
{{- define "callbridge.accountEnv" -}}
{{- $items := list }}
{{- if kindIs "slice" . }}
{{- range . }}{{ $items = append $items (include "callbridge.envString" .) }}{{ end }}
{{- join "," $items }}
{{- else if kindIs "map" . }}
{{- range $k, $v := . }}{{ $items = append $items (printf "%s=%s" $k (include "callbridge.envString" $v)) }}{{ end }}
{{- join "," $items }}
{{- else }}
{{- include "callbridge.envString" . }}
{{- end }}
{{- end }}

{{/* Where secret files are mounted. */}}
{{- define "callbridge.secretsDir" -}}
/var/run/secrets/callbridge
{{- end }}

{{/*
Secret files the pods need, as a YAML list of {secret, key, path, env}: the existing Secret
and its key, the path under the secrets directory, and the variable carrying the full path.
One list drives the projected volume and the *_FILE variables, so they cannot disagree.
*/}}
{{- define "callbridge.secretFiles" -}}
{{- $files := list }}
{{- $kafka := .Values.config.kafka }}
{{- if and $kafka.tls.enabled $kafka.tls.existingSecret }}
{{- if $kafka.tls.caKey }}
{{- $files = append $files (dict "secret" $kafka.tls.existingSecret "key" $kafka.tls.caKey "path" "kafka/tls/ca.crt" "env" "CALLBRIDGE_KAFKA_TLS_CA_FILE") }}
{{- end }}
{{- if $kafka.tls.certKey }}
{{- $files = append $files (dict "secret" $kafka.tls.existingSecret "key" $kafka.tls.certKey "path" "kafka/tls/tls.crt" "env" "CALLBRIDGE_KAFKA_TLS_CERT_FILE") }}
{{- end }}
{{- if $kafka.tls.keyKey }}
{{- $files = append $files (dict "secret" $kafka.tls.existingSecret "key" $kafka.tls.keyKey "path" "kafka/tls/tls.key" "env" "CALLBRIDGE_KAFKA_TLS_KEY_FILE") }}
{{- end }}
{{- end }}
{{- if $kafka.sasl.mechanism }}
{{- $files = append $files (dict "secret" $kafka.sasl.existingSecret "key" $kafka.sasl.passwordKey "path" "kafka/sasl/password" "env" "CALLBRIDGE_KAFKA_SASL_PASSWORD_FILE") }}
{{- end }}
{{- if eq .Values.config.phonePrivacy "hash" }}
{{- $files = append $files (dict "secret" .Values.config.phoneHashKey.existingSecret "key" .Values.config.phoneHashKey.key "path" "phone/hash-key" "env" "CALLBRIDGE_PHONE_HASH_KEY_FILE") }}
{{- end }}
{{- range .Values.accounts }}
{{- $prefix := include "callbridge.accountPrefix" . }}
{{- $files = append $files (dict "secret" .existingSecret "key" (default "app-secret" .appSecretKey) "path" (printf "accounts/%s/app-secret" .name) "env" (printf "%sAPP_SECRET_FILE" $prefix)) }}
{{- $files = append $files (dict "secret" .existingSecret "key" (default "webhook-token" .webhookTokenKey) "path" (printf "accounts/%s/webhook-token" .name) "env" (printf "%sWEBHOOK_TOKEN_FILE" $prefix)) }}
{{- $account := . }}
{{- range $key, $secretKey := .secretKeys }}
{{- $name := include "callbridge.settingName" $key }}
{{- $files = append $files (dict "secret" $account.existingSecret "key" $secretKey "path" (printf "accounts/%s/%s" $account.name ($name | lower | replace "_" "-")) "env" (printf "%s%s_FILE" $prefix $name)) }}
{{- end }}
{{- end }}
{{- toYaml (dict "files" $files) }}
{{- end }}

{{/*
Checks values.schema.json cannot express (it checks everything else, and helm lint only sees
the schema: a template `fail` is logged, not reported, in lint mode).
*/}}
{{- define "callbridge.validate" -}}
{{- $seen := dict }}
{{- range .Values.accounts }}
{{- if hasKey $seen .name }}
{{- fail (printf "accounts: %q is listed twice" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- end }}

{{/*
A value as an environment string. Helm reads numbers from values files as float64, which
would print large ids in exponent notation; whole numbers are printed as integers.
*/}}
{{- define "callbridge.envString" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}
{{- int64 . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* An int-or-string field (a count or a percentage). */}}
{{- define "callbridge.intOrString" -}}
{{- if kindIs "string" . }}{{ quote . }}{{ else }}{{ include "callbridge.envString" . }}{{ end }}
{{- end }}
