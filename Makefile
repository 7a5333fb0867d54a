# kad — make test / make demo set up a fresh machine of this kind and run.
SHELL := /bin/bash
DENO := $(CURDIR)/tools/node_modules/@deno/linux-x64-glibc/deno
# Debian packages the tests use: keepalived 2.2.7 (ground truth and interop peer),
# iproute2 + iputils-ping + procps (network namespaces), tcpdump (packet checks),
# clang + llvm + libbpf-dev (XDP programs), qemu + busybox-static + kmod + xz-utils (the
# Debian-kernel guest for GRE and IPVS tests, docs/testing-vm.md).
APT_PACKAGES := keepalived iproute2 iputils-ping procps tcpdump clang llvm libbpf-dev \
	libbpf1 libmnl0 qemu-system-x86 busybox-static kmod xz-utils openssl

.PHONY: deps apt deno test demo bench fuzz bundle compile fmt lint check clean

deps: apt deno

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deno: $(DENO) node_modules/.deno-installed

# npm install, not npm ci: npm ci rejects the lock file of the deno package, whose binaries
# for other platforms are optional dependencies that are never installed here.
$(DENO): tools/package.json tools/package-lock.json
	cd tools && npm install --no-audit --no-fund --loglevel=error
	@touch $(DENO)

node_modules/.deno-installed: deno.json deno.lock $(DENO)
	$(DENO) install --frozen
	@touch $@

test: deps
	NO_COLOR=1 $(DENO) run -A tests/run.ts

# Two kad routers in network namespaces: election, SIGKILL of the MASTER, measured takeover
# next to the formula (scripts/demo.ts; root).
demo: deps
	$(DENO) run -A scripts/demo.ts

bench: deps
	$(DENO) task bench

fuzz: deps
	$(DENO) task fuzz

bundle: deps
	$(DENO) task bundle

compile: deps
	$(DENO) task compile

fmt: deno
	$(DENO) fmt

lint: deno
	$(DENO) lint

clean:
	rm -rf dist node_modules tools/node_modules
