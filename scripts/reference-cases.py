#!/usr/bin/env python3
"""Turn every ConnectorClass template into golden cases.

Reads ConnectorClass manifests (multi-document YAML), takes every
`spec.configurations[].data` value and writes one case per template and per
data variant, with the template data the driver builds (SPEC.md section 4):
`.connector`, `.connectors`, `.connectorclass`, `.context`, `.configurations`.

usage: reference-cases.py OUT.json MANIFEST.yaml...
"""
import copy
import json
import os
import sys

import yaml

ADDRESSES = {
    "git": "https://github.com/example-org",
    "nexus": "https://nexus.example.com",
    "npm": "https://registry.example.com/repository/npm-group/",
    "sonarqube": "https://sonar.example.com/",
}
CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIRAOXQ\n"
          "-----END CERTIFICATE-----\n")
TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"


def connector(cls, name, namespace, proxy_url, params):
    return {
        "apiVersion": "connectors.alauda.io/v1alpha1",
        "kind": "Connector",
        "metadata": {"name": name, "namespace": namespace, "uid": "0b6a4a0e-1",
                     "labels": {"connectors.cpaas.io/class": cls}},
        "spec": {"connectorClassName": cls,
                 "address": ADDRESSES.get(cls, "https://service.example.com"),
                 "params": params, "auth": {"name": "basicAuth"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "proxy": {"httpAddress": {"url": proxy_url}},
                   "proxyAddress": proxy_url},
    }


def configuration_params(configuration, overrides):
    """The params of a configuration with defaults applied, as the driver does."""
    params = {}
    for p in configuration.get("params") or []:
        name = p.get("name")
        if name is None:
            continue
        if name in overrides:
            params[name] = overrides[name]
        elif "default" in p:
            params[name] = p["default"]
        else:
            params[name] = "value-of-" + name
    return params


def variants(manifest, configuration):
    cls = (manifest.get("metadata") or {}).get("name", "unnamed")
    class_json = copy.deepcopy(manifest)
    class_proxy = "http://connectors-proxy-service.connectors-system.svc.cluster.local:8080"
    class_json["status"] = {"proxy": {"httpAddress": {"url": class_proxy}}}
    class_json["proxyAddress"] = class_proxy

    one = connector(cls, "my-" + cls, "team-a",
                    "http://c-my-%s.team-a.svc.cluster.local" % cls,
                    [{"name": "sslVerify", "value": "false"}])
    two = connector(cls, "backup", "team-b",
                    "https://c-backup.team-b.svc.cluster.local:8443/",
                    [])
    yield "single", {
        "connector": one, "connectors": [one], "connectorclass": class_json,
        "context": {"token": TOKEN, "proxy": {"caCert": CA_PEM}},
        "configurations": configuration_params(configuration, {}),
    }
    yield "multi_no_ca", {
        "connector": two, "connectors": [two, one], "connectorclass": class_json,
        "context": {"token": TOKEN, "proxy": {"caCert": ""}},
        "configurations": configuration_params(
            configuration, {"strictSSL": "false", "mirrorRepository": "maven-public"}),
    }


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    cases = []
    for path in sorted(paths):
        stem = os.path.splitext(os.path.basename(path))[0]
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for manifest in docs:
            for configuration in (manifest.get("spec") or {}).get("configurations") or []:
                for key, template in sorted((configuration.get("data") or {}).items()):
                    for variant, data in variants(manifest, configuration):
                        cases.append({
                            "name": "reference/%s/%s/%s/%s" % (stem, configuration.get("name"), key, variant),
                            "template": template if isinstance(template, str) else str(template),
                            "data": data,
                        })
    with open(out, "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("%s: %d cases" % (out, len(cases)))


if __name__ == "__main__":
    main()
