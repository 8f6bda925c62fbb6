int tick(void)
{
    static int calls;
    return ++calls;
}
