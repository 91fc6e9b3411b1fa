#!/usr/bin/env bash
# One GPU job of the clock-planned recipe: the served network (width 64) trained long from one
# or two seeds, distilled into one, calibrated served models, all inside JOB_SECONDS.
#
#   bash scripts/gpu_train.sh OUTPUT_DIR
#
# Installs the wheels put beside the project (.whl/) if Keras is missing (a GPU machine with
# JAX but no Keras), trains with KERAS_BACKEND=jax, goes on from what earlier jobs left in
# OUTPUT_DIR (or in OUTPUT_DIR/bundle.tar copied there from an earlier machine), and ends by
# writing
#   OUTPUT_DIR/bundle.tar   what a later job needs to go on, within BUNDLE_MIB (small enough
#                           to upload again beside the project and the pack)
#   OUTPUT_DIR/results.tar  the served models, histories and outputs, for evaluation
# (see emotion_recognition/training/bundle.py). Before training on JAX it checks that the
# augmenter compiles for the GPU within AUGMENT_CHECK_SECONDS; if not, it augments on the CPU.
#
# Settings (environment): PACK (default data/fer2013_pack.npz), JOB_SECONDS (the job's time
# budget, default 480), RECIPE (gpu, or tiny for the tests), BUNDLE_MIB (default 4.5),
# AUGMENT_CHECK_SECONDS (default 120), PYTHON (default python3), KERAS_BACKEND (default jax),
# STUDENT_INIT (a served .keras of the recipe's width the student starts from) and
# ALSO_TEACH (served .keras files that teach the student beside the recipe's teachers).
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
  tar -xf "$out/bundle.tar" -C "$out"   # a fresh machine: go on from an earlier job's bundle
fi

if [ "$KERAS_BACKEND" = jax ] && [ -z "${EMOTION_AUGMENT_DEVICE:-}" ]; then
  if ! timeout "${AUGMENT_CHECK_SECONDS:-120}" "$python" -m emotion_recognition.training.augment \
      2>&1 | tee -a "$out/log.txt"; then
    echo "the augmenter did not compile for the accelerator in time: augmenting on the CPU" \
      | tee -a "$out/log.txt"
    export EMOTION_AUGMENT_DEVICE=cpu
  fi
fi

"$python" -m emotion_recognition.training.recipe --data "${PACK:-data/fer2013_pack.npz}" \
  --out "$out" --time-budget "${JOB_SECONDS:-480}" --recipe "${RECIPE:-gpu}" \
  ${STUDENT_INIT:+--student-init "$STUDENT_INIT"} ${ALSO_TEACH:+--also-teach $ALSO_TEACH} 2>&1 \
  | tee -a "$out/log.txt"

"$python" -m emotion_recognition.training.bundle "$out" --max-mib "${BUNDLE_MIB:-4.5}"
