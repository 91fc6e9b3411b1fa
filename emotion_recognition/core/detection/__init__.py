"""Where the faces are: Haar cascades (haar.py) propose, BlazeFace (blazeface.py) confirms
(verification.py); detectors.py names the detectors a user chooses; policy.py is how every
front end looks for faces in a photo (find_faces: upright, then turned copies); pool.py
shares a few detectors among many live sessions."""
