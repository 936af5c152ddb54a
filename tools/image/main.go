// Command image builds resetbot's container image from the repository, in Go: no Docker daemon,
// no base image, no registry needed. From the repository's root:
//
//	go -C tools run ./image                      # linux/amd64 and linux/arm64 → dist/image (OCI layout)
//	go -C tools run ./image -arch amd64          # one platform
//	go -C tools run ./image -push registry.example.com/resetbot:v1.2.0
//
// dist/image is an OCI image layout with a multi-platform index, which skopeo, podman, crane and
// oras read (`skopeo copy --all oci:dist/image:VERSION docker://…`); dist/resetbot-image-ARCH.tar
// is each platform's image as `podman load` and `docker load` take it. -push sends the index to a
// registry with the credentials of ~/.docker/config.json.
package main

import (
	"fmt"
	"os"

	"github.com/resetbot/resetbot/tools/internal/build"
	"github.com/resetbot/resetbot/tools/internal/ociimage"
)

func main() {
	o, err := build.ParseFlags("folder for the OCI layout and the per-platform tarballs")
	if err == nil {
		err = run(o.Repo, o.Out, o.Archs, o.Push)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(repo, out string, archs []string, push string) error {
	info := build.Describe(repo)
	res, err := ociimage.Make(repo, out, archs, info)
	if err != nil {
		return err
	}
	for _, p := range res.Platforms {
		fmt.Printf("linux/%s  %s  %.1f MB compressed  %s\n", p.Arch, p.Digest, float64(p.Size)/1e6, p.Tarball)
	}
	fmt.Printf("index %s in %s (tag %s)\n", res.Digest, res.Layout, info.Version)
	if push != "" {
		where, err := ociimage.Push(push, res)
		if err != nil {
			return err
		}
		fmt.Println("pushed", where)
	}
	return nil
}
