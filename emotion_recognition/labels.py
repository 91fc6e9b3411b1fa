"""The emotion names, in FER2013's label order, and the reduced 4-emotion set."""

EMOTIONS7 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EMOTIONS4 = ("angry", "happy", "sad", "neutral")
EMOTION_SETS = {"emotion7": EMOTIONS7, "emotion4": EMOTIONS4}

# fer2013.csv's integer labels index EMOTIONS7; the Kaggle folders use these names.
INDEX_OF = {name: i for i, name in enumerate(EMOTIONS7)}
