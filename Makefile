# The README's two commands: `make demo` (train on the embedded MNIST subset) and `make test`.
.PHONY: setup demo test pytest galaxy-test galaxy-ui-test browser-setup benchmark clean

setup:
	./scripts/setup.sh

# Train the Galaxy tutorial config on the small real-MNIST subset in test-data/ → results/
demo: setup
	.venv/bin/ludwig-mnist experiment --config test-data/config.yaml \
	    --dataset test-data/mnist_dataset.csv --raw_data test-data/mnist_images.zip \
	    --output_directory results

browser-setup:
	./scripts/setup_browser.sh

pytest: setup browser-setup
	.venv/bin/python -m pytest -q tests

galaxy-test: setup
	./scripts/galaxy_tests.sh
	./scripts/galaxy_parallel_test.sh
	./scripts/galaxy_shed_test.sh

# The Galaxy MNIST tutorial clicked through Galaxy's web UI in headless Chromium (screenshots: tests/galaxy_ui/artifacts/).
galaxy-ui-test: setup browser-setup
	./scripts/galaxy_ui_test.sh

# Everything CI runs: unit and end-to-end tests, the browser check, the tool tests in a real Galaxy,
# then the tutorial through that Galaxy's web UI.
test: pytest galaxy-test galaxy-ui-test

clean:
	rm -rf results test-results galaxy-run galaxy-ui-run galaxy-serve galaxy-shed-run
