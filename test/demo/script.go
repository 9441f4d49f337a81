package main

import (
	"fmt"
	"time"
)

// script is what the demo shows, in order.
func (d *demo) script() error {
	d.step("Images in a registry on %s, signed with cosign keys", d.host)
	release, err := d.keyPair("release")
	if err != nil {
		return err
	}
	if _, err := d.keyPair("payments"); err != nil {
		return err
	}
	fmt.Println("$ cosign signing-config create --out sc.json   # no transparency log: the demo stays offline")
	images := map[string]string{}
	for _, repo := range []string{"team/api:1.0", "team/tools:latest", "vendor/agent:7"} {
		ref, err := d.push(repo)
		if err != nil {
			return err
		}
		images[repo] = ref
	}
	if err := d.sign(release, "release", images["team/api:1.0"]); err != nil {
		return err
	}
	fmt.Println("(signed through the cosign library Portcullis links, as these commands do; make test checks that the cosign CLI verifies it)")
	fmt.Printf("team/api:1.0    signed by the release key (a Sigstore bundle, attached as an OCI referrer)\n")
	fmt.Printf("team/tools      not signed\nvendor/agent:7  not signed\n")

	d.step("Policies: team images need the release key; vendor images are only warned about")
	d.write("policies.yaml", `apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: release-signed}
spec:
  images: [{glob: "`+d.host+`/team/**"}]
  authorities:
  - name: release-key
    key:
      data: |
`+indent(d.read("release.pub"), "        ")+`---
apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: vendor-watch}
spec:
  images: [{glob: "`+d.host+`/vendor/**"}]
  mode: warn
  authorities:
  - name: release-key
    key:
      data: |
`+indent(d.read("release.pub"), "        "))
	d.kubectl("apply", "-f", d.dir+"/policies.yaml")
	d.kubectl("create", "namespace", "web")
	d.kubectl("create", "namespace", "payments")
	d.kubectl("get", "clusterimagepolicies")

	d.step("A signed Deployment is admitted, and its tag pinned to the digest that was verified")
	d.write("web.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: web}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: `+d.host+`/team/api:1.0
`)
	d.kubectl("apply", "-f", d.dir+"/web.yaml")
	d.kubectl("get", "deployment", "api", "-n", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}{\"\\n\"}")

	d.step("An unsigned pod is denied, with its reason")
	d.kubectl("run", "tools", "-n", "web", "--image", d.host+"/team/tools:latest")

	d.step("A namespace policy tightens one namespace: payments also needs the payments key")
	d.write("payments-policy.yaml", `apiVersion: portcullis.dev/v1alpha1
kind: ImagePolicy
metadata: {name: payments-signed, namespace: payments}
spec:
  images: [{glob: "`+d.host+`/team/**"}]
  authorities:
  - name: payments-key
    key:
      data: |
`+indent(d.read("payments.pub"), "        "))
	d.kubectl("apply", "-f", d.dir+"/payments-policy.yaml")
	d.kubectl("get", "imagepolicies", "-n", "payments")
	d.kubectl("run", "api", "-n", "payments", "--image", d.host+"/team/api:1.0")
	d.kubectl("run", "api", "-n", "web", "--image", d.host+"/team/api:1.0")

	d.step("Warn mode admits, and says why")
	d.kubectl("run", "agent", "-n", "web", "--image", d.host+"/vendor/agent:7")

	d.step("The same answers in CI, before anything is applied")
	d.write("ci.yaml", `apiVersion: v1
kind: Pod
metadata: {name: tools, namespace: web}
spec:
  containers:
  - name: tools
    image: `+d.host+`/team/tools:latest
`)
	d.portcullis("verify", "--policy", d.dir+"/policies.yaml", "-f", d.dir+"/ci.yaml")

	d.step("The audit: every running pod, judged again and reported as a standard PolicyReport")
	select { // the demo's audit interval is 3 s
	case <-time.After(5 * time.Second):
	case <-d.ctx.Done():
	}
	d.kubectl("get", "policyreports", "-A")
	d.kubectl("get", "policyreport", "portcullis", "-n", "web", "-o",
		`jsonpath={range .results[*]}{.resources[0].name}{"\t"}{.policy}{"\t"}{.result}{"\t"}{.message}{"\n"}{end}`)

	d.step("Stopping: the webhook unregisters itself, and the control plane and registry stop")
	return nil
}
