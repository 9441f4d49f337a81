// Package workload finds the images of every kind that carries a pod spec: Pod, Deployment,
// ReplicaSet, StatefulSet, DaemonSet, Job, CronJob and ReplicationController. For each image it
// gives where it is used (containers, initContainers, ephemeralContainers, image volumes) and the
// JSON path of its field, so adapters can build a JSONPatch or pin a manifest. It decides nothing.
package workload
