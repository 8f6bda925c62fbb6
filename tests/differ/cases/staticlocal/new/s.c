int other(void)
{
    static int calls;
    return calls += 5;
}
int tick(void)
{
    static int calls;
    calls += 2;
    return calls + other() * 0;
}
