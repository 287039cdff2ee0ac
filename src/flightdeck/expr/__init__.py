"""The expr condition language of successCondition/failureCondition."""
