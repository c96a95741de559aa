"""The DaemonSet's jl command, derived from deploy/daemonset.yaml so that a test runs what the manifest runs
(never a copy of its script): the container's args, with the files of each ConfigMap volume written under a
directory of the test's where the container mounts them, and the --prometheus address one the test picks.
"""

from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "daemonset.yaml"


def command(jl, directory, listen, manifest=MANIFEST):
    """The argv of the manifest's container run by JL, its ConfigMap mounts under DIRECTORY (created) and its
    --prometheus on LISTEN (host:port)."""
    docs = [doc for doc in yaml.safe_load_all(Path(manifest).read_text()) if doc]
    config_maps = {doc["metadata"]["name"]: doc["data"] for doc in docs if doc["kind"] == "ConfigMap"}
    (daemonset,) = [doc for doc in docs if doc["kind"] == "DaemonSet"]
    pod = daemonset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    if "command" in container:
        raise ValueError(f"{manifest}: the container replaces the image's entrypoint (jl): not supported here")
    volumes = {volume["name"]: volume["configMap"]["name"] for volume in pod["volumes"] if "configMap" in volume}
    mounts = {}
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in volumes:
            continue
        local = Path(directory) / mount["mountPath"].lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        for key, text in config_maps[volumes[mount["name"]]].items():
            (local / key).write_text(text)
        mounts[mount["mountPath"].rstrip("/") + "/"] = str(local) + "/"
    args = list(container["args"])
    for index, arg in enumerate(args):
        if index > 0 and args[index - 1] == "--prometheus":
            args[index] = listen
            continue
        for mounted, local in mounts.items():
            if arg.startswith(mounted):
                args[index] = local + arg[len(mounted):]
    if "--prometheus" not in args[:-1]:
        raise ValueError(f"{manifest}: the container's args have no --prometheus ADDRESS")
    return [str(jl), *args]
