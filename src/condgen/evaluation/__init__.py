"""The oracle-judged evaluation of attribute control: the protocol (:mod:`~condgen.evaluation.protocol`),
the methods it compares behind one interface (:mod:`~condgen.evaluation.methods`: plugin, latent
directions, CVAE/CGAN), fitting and timing the alternatives (:mod:`~condgen.evaluation.baselines`),
training classifiers (:mod:`~condgen.evaluation.classifiers`) and the report (:mod:`~condgen.evaluation.report`)."""
