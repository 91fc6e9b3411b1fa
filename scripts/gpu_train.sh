#!/usr/bin/env bash
# One GPU job of the big-model recipe (teachers, then the distilled served student).
#
#   bash scripts/gpu_train.sh OUTPUT_DIR
#
# Run it again and again (one call per 10-minute job) until OUTPUT_DIR/recipe_status.json
# says "finished": true. Each job installs the wheels that travelled with the project (.whl/)
# if Keras is missing, trains with KERAS_BACKEND=jax, resumes what earlier jobs left in
# OUTPUT_DIR (or in OUTPUT_DIR/bundle.tar copied back from a machine that is gone), stops
# inside its time budget, and ends by writing OUTPUT_DIR/bundle.tar: the output's small files
# (logs, histories, run states, the teachers' outputs on the training images and PublicTest,
# the student's best weights and exported models), a few MiB while the recipe is under way,
# which is what a fresh machine or the evaluating machine needs.
#
# Settings (environment): PACK (default data/fer2013_pack.npz), JOB_SECONDS (default 540),
# RECIPE (gpu, or tiny for the tests), PYTHON (default python3), KERAS_BACKEND (default jax).
set -euo pipefail
out=${1:?usage: scripts/gpu_train.sh OUTPUT_DIR}
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

if ! "$python" -c "import keras" 2>/dev/null; then   # a GPU image with JAX but no Keras
  "$python" -m pip install -q --no-index --no-deps --no-compile --upgrade \
    --target /tmp/gpu_train_site .whl/*.whl
  export PYTHONPATH=/tmp/gpu_train_site${PYTHONPATH:+:$PYTHONPATH}
fi
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1

mkdir -p "$out"
if [ -f "$out/bundle.tar" ] && [ ! -f "$out/recipe_status.json" ]; then
  tar -xf "$out/bundle.tar" -C "$out"   # a fresh machine: carry on from the copied-back bundle
fi

"$python" -m emotion_recognition.training.recipe --data "${PACK:-data/fer2013_pack.npz}" \
  --out "$out" --time-budget "${JOB_SECONDS:-540}" --recipe "${RECIPE:-gpu}" 2>&1 \
  | tee -a "$out/log.txt"

# the bundle: every file under 15 MiB but the checkpoint weights (a run whose weights did not
# travel starts again; teachers' outputs travel, so a finished teacher never does)
(cd "$out" && find . -type f ! -name bundle.tar ! -name 'partial-*' \
   ! -path '*/checkpoint/weights.weights.h5' -size -15M -print0 \
  | tar -cf bundle.tar.tmp --null -T - && mv bundle.tar.tmp bundle.tar)
echo "wrote $out/bundle.tar ($(du -h "$out/bundle.tar" | cut -f1))"
