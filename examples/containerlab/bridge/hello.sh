# Run by server3's exec: writes who it is, with the environment containerlab gave it.
echo "$GREETING ($LAB_ROLE)" > greeting.txt
