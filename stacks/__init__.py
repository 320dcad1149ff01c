"""CDKTF stacks of Cloud Agent Studio and the pieces they share."""
