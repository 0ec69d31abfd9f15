#!/usr/bin/env bash
# Captures the `plan` test fixtures from a real local cluster: what `kubectl get nodes,pods,pdb -A -o json`
# prints for a small cluster with busy, light, empty and system nodes, once with pending pods that need a
# bigger node group and once without them. Run from the repository root after `npm run tools`.
set -euo pipefail
dir=$(mktemp -d)
trap 'npx vpsie-autoscaler cluster down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
npx vpsie-autoscaler cluster up --dir "$dir" >/dev/null
export KUBECONFIG=$dir/kubeconfig

node() { # name cpu memory [group]
  local labels="kubernetes.io/hostname: $1"
  [ -n "${4:-}" ] && labels="$labels, autoscaler.vpsie.com/nodegroup: $4"
  kubectl apply -f - <<YAML
apiVersion: v1
kind: Node
metadata: {name: $1, annotations: {kwok.x-k8s.io/node: fake}, labels: {$labels}}
status: {capacity: {cpu: "$2", memory: $3, pods: "110"}, allocatable: {cpu: "$2", memory: $3, pods: "110"}}
YAML
}
deployment() { # namespace name replicas cpu memory [nodeSelector-json]
  kubectl apply -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $2, namespace: $1}
spec:
  replicas: $3
  selector: {matchLabels: {app: $2}}
  template:
    metadata: {labels: {app: $2}}
    spec:
      nodeSelector: ${6:-{\}}
      containers: [{name: main, image: registry.example/$2:1, resources: {requests: {cpu: $4, memory: $5}}}]
YAML
}
settle() { sleep 4; }

kubectl apply -f - <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: agent, image: registry.example/agent:1, resources: {requests: {cpu: 50m, memory: 64Mi}}}]
YAML
node general-busy 4 8Gi general; settle
deployment default web 3 "1" 1Gi; settle
node general-light 4 8Gi general; settle
deployment default api 1 200m 256Mi; settle
node general-system 4 8Gi general; settle
deployment kube-system metrics-server 1 100m 200Mi; settle
node general-empty 4 8Gi general
node unmanaged 2 4Gi; settle
kubectl apply -f - <<YAML
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
YAML
deployment default gpu-job 1 500m 512Mi '{accelerator: nvidia}'
deployment default batch 2 "6" 4Gi; sleep 8
kubectl get nodes,pods,pdb -A -o json > test/fixtures/snapshot-pending.json
kubectl delete deployment -n default batch --wait=true; sleep 6
kubectl get nodes,pods,pdb -A -o json > test/fixtures/snapshot-settled.json
kubectl get pods -A -o wide
