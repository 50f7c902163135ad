"""A repository shaped like GoogleCloudPlatform/microservices-demo, built from a small description (no network).

Twelve services under ``src/`` in five languages, ``protos/`` shared through each service's ``genproto.sh``
(where the real repository's services generate code from it), ``kubernetes-manifests/`` with one Deployment per
service whose container image is the service's name (plus Redis, which has no source), a Helm chart templating
every service, ``docs/``, a top ``cloudbuild.yaml`` running skaffold and ``skaffold.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from testing.gitrepo import GitRepo

__all__ = ["SERVICES", "DemoService", "build_microservices_demo"]


@dataclass(frozen=True)
class DemoService:
    """One service of the description: its language and whether its build reads ``protos/``."""

    name: str
    language: str  # java, csharp, go, node, python
    uses_protos: bool

    @property
    def directory(self) -> str:
        return f"src/{self.name}"


SERVICES = [
    DemoService("adservice", "java", False),  # keeps its own copy in src/main/proto
    DemoService("cartservice", "csharp", False),  # keeps its own src/protos/Cart.proto
    DemoService("checkoutservice", "go", True),
    DemoService("currencyservice", "node", True),
    DemoService("emailservice", "python", True),
    DemoService("frontend", "go", True),
    DemoService("loadgenerator", "python", False),
    DemoService("paymentservice", "node", True),
    DemoService("productcatalogservice", "go", True),
    DemoService("recommendationservice", "python", True),
    DemoService("shippingservice", "go", True),
    DemoService("shoppingassistantservice", "python", False),
]
MODULE = "github.com/GoogleCloudPlatform/microservices-demo"


def _service_files(s: DemoService) -> dict[str, str]:
    d = s.directory
    if s.language == "java":
        return {f"{d}/Dockerfile": "FROM eclipse-temurin:21 AS builder\nWORKDIR /app\nCOPY . .\n"
                                   "RUN ./gradlew installDist\nFROM eclipse-temurin:21-jre\n"
                                   "COPY --from=builder /app/build /app\nENTRYPOINT [\"/app/bin/AdService\"]\n",
                f"{d}/build.gradle": "plugins { id 'java'; id 'com.google.protobuf' version '0.9.4' }\n",
                f"{d}/src/main/proto/demo.proto": 'syntax = "proto3";\npackage hipstershop;\n',
                f"{d}/src/main/java/hipstershop/AdService.java":
                    "package hipstershop;\npublic final class AdService {}\n"}
    if s.language == "csharp":
        return {f"{d}/src/Dockerfile": "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS builder\nWORKDIR /app\n"
                                       "COPY cartservice.csproj .\nRUN dotnet restore\nCOPY . .\n"
                                       "RUN dotnet publish -c release -o /cartservice\n",
                f"{d}/src/cartservice.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web">\n'
                                               '  <ItemGroup><Protobuf Include="protos\\Cart.proto" /></ItemGroup>\n'
                                               "</Project>\n",
                f"{d}/src/protos/Cart.proto": 'syntax = "proto3";\npackage hipstershop;\n',
                f"{d}/src/Program.cs": "var builder = WebApplication.CreateBuilder(args);\n",
                f"{d}/tests/cartservice.tests.csproj": '<Project Sdk="Microsoft.NET.Sdk" />\n',
                f"{d}/cartservice.sln": "Microsoft Visual Studio Solution File, Format Version 12.00\n"}
    files = {f"{d}/Dockerfile": f"FROM base\nWORKDIR /src\nCOPY . .\nRUN build {s.name}\n"}
    if s.uses_protos:
        files[f"{d}/genproto.sh"] = {
            "go": "#!/bin/bash -e\nPROTODIR=../../protos\n"
                  "protoc --go_out=./genproto -I $PROTODIR $PROTODIR/demo.proto\n",
            "node": "#!/bin/bash -e\nmkdir -p proto\ncp ../../protos/demo.proto proto/\n",
            "python": "#!/bin/bash -e\npython -m grpc_tools.protoc -I../../protos --python_out=. "
                      "--grpc_python_out=. ../../protos/demo.proto\n"}[s.language]
    if s.language == "go":
        files[f"{d}/go.mod"] = f"module {MODULE}/src/{s.name}\n\ngo 1.22\n"
        files[f"{d}/main.go"] = (f'package main\n\nimport (\n\t"fmt"\n\tpb "{MODULE}/src/{s.name}/genproto"\n)\n\n'
                                 "func main() { fmt.Println(pb.Name) }\n")
        files[f"{d}/genproto/demo.pb.go"] = "package hipstershop\n\nconst Name = \"demo\"\n"
    elif s.language == "node":
        files[f"{d}/package.json"] = json.dumps({"name": s.name, "main": "server.js",
                                                 "scripts": {"start": "node server.js"}}, indent=2) + "\n"
        files[f"{d}/server.js"] = "const grpc = require('@grpc/grpc-js');\n"
    else:
        files[f"{d}/requirements.txt"] = "grpcio==1.66.1\n"
        files[f"{d}/{s.name}.py"] = "import grpc\n\n\ndef serve():\n    pass\n"
    return files


def _manifest(name: str, image: str) -> str:
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\n"
            f"spec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    spec:\n      containers:\n"
            f"      - name: server\n        image: {image}\n---\napiVersion: v1\nkind: Service\nmetadata:\n"
            f"  name: {name}\nspec:\n  ports:\n  - port: 80\n")


def microservices_demo_files() -> dict[str, str]:
    """Every file of the fixture, by path."""
    files: dict[str, str] = {
        "README.md": "# Online Boutique\n",
        "protos/demo.proto": 'syntax = "proto3";\npackage hipstershop;\nservice CartService {}\n',
        "protos/grpc/health/v1/health.proto": 'syntax = "proto3";\npackage grpc.health.v1;\n',
        "docs/development-guide.md": "# Development\n", "docs/img/architecture-diagram.png": "PNG\n",
        "cloudbuild.yaml": "steps:\n- id: deploy\n  name: gcr.io/k8s-skaffold/skaffold:v2.13.2\n"
                           "  args: [skaffold, run, --default-repo=gcr.io/$PROJECT_ID]\n",
        "skaffold.yaml": "apiVersion: skaffold/v4beta10\nkind: Config\nbuild:\n  artifacts:\n"
                         + "".join(f"  - image: {s.name}\n    context: {s.directory}\n" for s in SERVICES),
        "kubernetes-manifests/redis.yaml": _manifest("redis-cart", "redis:alpine"),
        "kubernetes-manifests/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                                                   "kind: Kustomization\nresources:\n"
                                                   + "".join(f"- {s.name}.yaml\n" for s in SERVICES),
        "helm-chart/Chart.yaml": "apiVersion: v2\nname: onlineboutique\nversion: 0.10.1\n",
        "helm-chart/values.yaml": "".join(f"{s.name}:\n  create: true\n" for s in SERVICES),
        "helm-chart/templates/adservice.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                               "  name: {{ .Values.adservice.name }}\n",
        ".github/workflows/ci-main.yaml": "name: ci\non: push\n",
    }
    for s in SERVICES:
        files.update(_service_files(s))
        files[f"kubernetes-manifests/{s.name}.yaml"] = _manifest(s.name, s.name)
    return files


def build_microservices_demo(path: Path) -> GitRepo:
    """The fixture committed in a new repository at ``path``."""
    repo = GitRepo(path)
    repo.commit("Online Boutique", microservices_demo_files())
    return repo
