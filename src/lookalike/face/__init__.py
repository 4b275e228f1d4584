"""Face geometry every stage shares: the aligned 128×128 face, its 68-point template and its named regions.

`template` says where dlib's landmarks sit on an aligned face; `regions`
turns a face's landmarks into named regions (forehead, eyes, cheekbones …)
and the plain-language features people are told about.
"""
