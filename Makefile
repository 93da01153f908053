# The README's two commands: `make demo` (train on the embedded MNIST subset) and `make test`.
.PHONY: setup demo test pytest galaxy-test browser-setup benchmark clean

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

# Everything CI runs: unit and end-to-end tests, the browser check, then the tool tests in a real Galaxy.
test: pytest galaxy-test

clean:
	rm -rf results test-results galaxy-run
