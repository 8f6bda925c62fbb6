/* assertfake: scale()'s real change is a byte of imul's immediate, two
 * bytes after an 0xba byte of the same instruction (69 c7 ba 34 56 00),
 * shortly before an assert's __assert_fail call: a byte scan for
 * `mov $imm32, %edx` (0xba) takes it for an assert line number. */
#include <assert.h>
#include <stdio.h>
int scale(int x)
{
    int y = x * 0x5634ba;
    assert(y > 3);
    return y;
}
int main(void) { printf("%d\n", scale(3)); return 0; }
