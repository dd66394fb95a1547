/* The program of meson's layer checks: linked with the whole archive of
 * one layer and the archives of the layers below it only, it builds only
 * if that layer calls nothing above itself. */
int main(void)
{
	return 0;
}
