/* Floating point through glibc, for `xuni user` against native runs.
 *
 *   fp [SECTION...]   arith libm printf strtod integrate float longdouble fenv
 *
 * Only results that IEEE 754 fixes exactly (+ - * / sqrt, conversions,
 * strtod, printf's decimal conversion) are printed to the last bit.
 * glibc picks libm variants by CPUID (FMA/AVX2 natively, SSE2 under an
 * emulator that lacks them), and those may differ in the last bit, so
 * libm results are printed to 15 significant digits.
 */
#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the compiler from folding what the CPU should compute. */
static volatile double vd[] = {0.1, 0.2, 3.0, -7.25, 1e300, 1e-300, 2.0, 0.0, 5e-324, 123456.789};
static volatile float vf[] = {0.1f, 3.0f, -7.25f, 1e30f, 1e-30f, 16777217.0f};

static void arith(void)
{
    double a = vd[0], b = vd[1], three = vd[2];
    printf("0.1+0.2 = %.17g (%a)\n", a + b, a + b);
    printf("1/3 = %.17g, 2/3 = %.17g, -7.25*3 = %g\n", 1 / three, 2 / three, vd[3] * three);
    printf("sqrt(2) = %.17g, sqrt(1e-300) = %.17g\n", sqrt(vd[6]), sqrt(vd[5]));
    printf("overflow %g, underflow %g, subnormal %a, min/2 %a\n", vd[4] * vd[4], vd[5] * vd[5],
           vd[8], vd[8] / 2);
    double z = vd[7];
    printf("1/0 %g, -1/0 %g, 0/0 %g, -0 %g, signbit %d\n", 1 / z, -1 / z, z / z, -z,
           signbit(-z) != 0);
    printf("isnan %d isinf %d isfinite %d\n", isnan(z / z), isinf(1 / z), isfinite(vd[4]));
    printf("floor %g ceil %g trunc %g round %g rint %g nearbyint %g lround %ld\n", floor(vd[3]),
           ceil(vd[3]), trunc(vd[3]), round(vd[3]), rint(vd[3]), nearbyint(2.5 + z), lround(vd[3]));
    printf("fmod %.17g remainder %.17g fabs %g copysign %g\n", fmod(vd[9], three),
           remainder(vd[9], three), fabs(vd[3]), copysign(three, vd[3]));
    int e;
    double m = frexp(vd[9], &e);
    printf("frexp %.17g %d ldexp %.17g nextafter %a\n", m, e, ldexp(m, e + 3), nextafter(1.0, 2.0));
    printf("modf/fmin/fmax: %g %g %g\n", modf(vd[3], &m) + m, fmin(a, b), fmax(a, b));
    /* Conversions between integers and doubles, both ways and signs. */
    int64_t big = INT64_MAX;
    uint64_t ubig = UINT64_MAX - 1000;
    printf("i64->d %.17g u64->d %.17g d->i64 %lld d->u64 %llu d->i32 %d\n", (double)big,
           (double)ubig, (long long)(vd[9] * 1e9), (unsigned long long)(vd[4] / 1e282), (int)vd[3]);
    double sum = 0;
    for (int i = 1; i <= 1000000; i++)
        sum += 1.0 / ((double)i * i);
    printf("basel sum %.17g\n", sum);
    double h = 0, c = 0; /* Kahan summation */
    for (int i = 0; i < 100000; i++) {
        double y = a - c, t = h + y;
        c = (t - h) - y;
        h = t;
    }
    printf("kahan %.17g (%a)\n", h, h);
}

static void libm(void)
{
    static const double xs[] = {0.5, 1.0, 2.0, 3.14159, 10.0, -0.75, 1e-5, 100.0};
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        double x = xs[i] + vd[7];
        printf("x=%g sin %.15g cos %.15g tan %.15g exp %.15g\n", x, sin(x), cos(x), tan(x), exp(x));
        if (x > 0)
            printf("  log %.15g log10 %.15g log2 %.15g pow(x,1.5) %.15g cbrt %.15g\n", log(x),
                   log10(x), log2(x), pow(x, 1.5), cbrt(x));
        printf("  atan %.15g atan2 %.15g sinh %.15g tanh %.15g hypot %.15g\n", atan(x),
               atan2(x, 1.5), sinh(x), tanh(x), hypot(x, 2.0));
    }
    printf("pow(2,0.5) %.15g pow(-8,1/3.) %g pow(10,-3) %.15g exp(-745) %g expm1 %.15g "
           "log1p %.15g\n",
           pow(2, 0.5 + vd[7]), pow(-8, 1 / 3.0 + vd[7]), pow(10, -3 + vd[7]), exp(-745 + vd[7]),
           expm1(1e-10 + vd[7]), log1p(1e-10 + vd[7]));
    printf("erf %.15g lgamma %.15g tgamma %.15g j0 %.12g\n", erf(0.5 + vd[7]), lgamma(10.5 + vd[7]),
           tgamma(5.5 + vd[7]), j0(2.0 + vd[7]));
}

static void float_math(void)
{
    float a = vf[0], three = vf[1];
    printf("float 0.1*3 = %.9g (%a), 1/3 = %.9g, sqrtf(2) = %.9g\n", a * three, a * three,
           1 / three, sqrtf(vf[1] - 1));
    printf("float overflow %g underflow %g 2^24+1 %.9g\n", vf[3] * vf[3], vf[4] * vf[4], vf[5]);
    printf("sinf %.6g cosf %.6g expf %.6g logf %.6g powf %.6g\n", sinf(a), cosf(a), expf(three),
           logf(three), powf(three, 2.5f));
    float acc = 0;
    for (int i = 0; i < 100000; i++)
        acc += 0.01f;
    printf("float acc %.9g, as double %.17g, (float)1e40 %g\n", acc, (double)acc,
           (float)(vd[4] * 1e-260));
    printf("float->int %d %lld, int->float %.9g\n", (int)vf[2], (long long)(vf[3] / 1e12f),
           (float)123456789);
}

static void print_doubles(void)
{
    static const double v[] = {0,
                               1,
                               -1.5,
                               0.1,
                               1.0 / 3,
                               2.0 / 3,
                               1e-300,
                               5e-324,
                               1e300,
                               DBL_MAX,
                               DBL_MIN,
                               123456789.125,
                               0.125,
                               0.375,
                               1e22,
                               1e23,
                               9007199254740993.0,
                               6.02214076e23,
                               -0.0,
                               2.5,
                               3.5,
                               1e-7,
                               123.456};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        double x = v[i] + vd[7];
        if (v[i] == 0 && signbit(v[i]))
            x = -vd[7];
        printf("%g|%e|%.17g|%f|%.2f|%.0f|%a|%10.3e|%-+12.4g|%#g|%G|%.30g\n", x, x, x, x, x, x, x, x,
               x, x, x, x);
    }
    puts("inf/nan:");
    printf("%f %e %g %F %E\n", 1 / vd[7], -1 / vd[7], vd[7] / vd[7], 1 / vd[7], -1 / vd[7]);
    char buf[64];
    snprintf(buf, sizeof(buf), "%.3f", 2.0005);
    printf("snprintf %s %d\n", buf, snprintf(NULL, 0, "%.100f", 1e-100));
}

static void parse(void)
{
    static const char *in[] = {"0.1",
                               "1e400",
                               "-1e-400",
                               "4.9e-324",
                               "2.2250738585072011e-308",
                               "2.2250738585072012e-308",
                               "0x1.8p3",
                               "0X1P-1074",
                               "nan",
                               "-inf",
                               "Infinity",
                               "123456789012345678901234567890",
                               "0.000000000000000000000000000001234",
                               "1.7976931348623157e308",
                               "1.7976931348623159e308",
                               "  +3.25xyz",
                               "9007199254740993",
                               "0.1000000000000000055511151231257827021181583404541015625",
                               "1e",
                               ".5e-3",
                               "abc",
                               "3.14159265358979323846264338327950288"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        char *end;
        errno = 0;
        double d = strtod(in[i], &end);
        int e1 = errno;
        errno = 0;
        float f = strtof(in[i], NULL);
        printf("'%s' -> %a %.17g end+%d errno %d | float %a errno %d\n", in[i], d, d,
               (int)(end - in[i]), e1, f, errno);
    }
    double x, y;
    int n = sscanf("3.5 -2e-3", "%lf %lf", &x, &y);
    printf("sscanf %d %g %g atof %.17g\n", n, x, y, atof("6.02e23"));
}

/* Simpson, trapezoid and RK4: a small numeric workload through libm. */
static double simpson(double (*f)(double), double a, double b, int n)
{
    double h = (b - a) / n, s = f(a) + f(b);
    for (int i = 1; i < n; i++)
        s += f(a + i * h) * (i % 2 ? 4 : 2);
    return s * h / 3;
}

static double gauss(double x)
{
    return exp(-x * x);
}

static double poly(double x)
{
    return ((3 * x - 2) * x + 0.5) * x - 7;
}

static void integrate(void)
{
    printf("simpson sin [0,pi] %.12f\n", simpson(sin, 0, M_PI, 10000));
    printf("simpson exp(-x^2) [-5,5] %.12f (sqrt(pi) %.12f)\n", simpson(gauss, -5, 5, 20000),
           sqrt(M_PI));
    printf("simpson cubic [0,2] %.17g\n", simpson(poly, 0, 2, 1000));
    double t = 0, yv = 1, h = 0.001; /* y' = -2ty, y(0) = 1: y = exp(-t^2) */
    for (int i = 0; i < 2000; i++) {
        double k1 = -2 * t * yv, k2 = -2 * (t + h / 2) * (yv + h * k1 / 2);
        double k3 = -2 * (t + h / 2) * (yv + h * k2 / 2), k4 = -2 * (t + h) * (yv + h * k3);
        yv += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6;
        t += h;
    }
    printf("rk4 y(2) %.17g exact %.12f\n", yv, exp(-4.0));
    double m[4][4], inv = 0; /* Gaussian elimination on a Hilbert matrix */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            m[i][j] = 1.0 / (i + j + 1);
    for (int k = 0; k < 4; k++)
        for (int i = k + 1; i < 4; i++) {
            double f = m[i][k] / m[k][k];
            for (int j = k; j < 4; j++)
                m[i][j] -= f * m[k][j];
        }
    for (int i = 0; i < 4; i++)
        inv += m[i][i];
    printf("hilbert4 pivots sum %.17g det %.17g\n", inv, m[0][0] * m[1][1] * m[2][2] * m[3][3]);
}

static void longdouble(void)
{
    volatile long double three = 3, x = 1;
    long double third = x / three;
    printf("1/3L %.21Lg %La\n", third, third);
    long double f = 1;
    for (int i = 2; i <= 25; i++)
        f *= i;
    printf("25! %.0Lf (double %.0f)\n", f, (double)f);
    printf("sqrtl(2) %.21Lg, 2^64 %.0Lf, LDBL_EPSILON %Lg, LDBL_MAX %Lg\n", sqrtl(x + 1),
           ldexpl(x, 64), LDBL_EPSILON, LDBL_MAX);
    long double s = 0;
    for (int i = 1; i <= 100000; i++)
        s += 1.0L / ((long double)i * i);
    printf("basel sum (long double) %.21Lg\n", s);
    printf("(long double)0.1 %La, back to double %a, int64 %lld, u64 %llu\n", (long double)vd[0],
           (double)((long double)vd[0] * three), (long long)(third * 1e18L),
           (unsigned long long)(ldexpl(x, 63) + 5));
    char *end;
    long double p = strtold("3.14159265358979323846264338327950288", &end);
    printf("strtold %.21Lg %La\n", p, p);
    printf("fabsl %Lg floorl %Lg truncl %Lg fmodl %.21Lg\n", fabsl(-three), floorl(-third),
           truncl(three / 2), fmodl(three * 1000, 7));
}

/* fesetround and the exception flags: glibc sets both MXCSR and the x87
 * control word, and reads both status words. */
static void fenv(void)
{
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    static const char *names[] = {"nearest", "upward", "downward", "towardzero"};
    for (int i = 0; i < 4; i++) {
        fesetround(modes[i]);
        /* Through pointers: gcc assumes round-to-nearest and would expand
         * rint inline as -rint(-x). */
        double (*volatile rint_fn)(double) = rint;
        long (*volatile lrint_fn)(double) = lrint;
        volatile double one = 1, three = 3, r = one / three;
        printf("%-10s 1/3 %a rint(2.5) %g rint(-2.5) %g lrint(-3.5) %ld\n", names[i], r,
               rint_fn(2.5), rint_fn(-2.5), lrint_fn(-3.5));
    }
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double z = vd[7], r = 1 / z;
    printf("div by zero flag %d (r %g)\n", fetestexcept(FE_DIVBYZERO) != 0, r);
    feclearexcept(FE_ALL_EXCEPT);
    r = vd[0] + vd[1];
    printf("inexact flag %d invalid %d\n", fetestexcept(FE_INEXACT) != 0,
           fetestexcept(FE_INVALID) != 0);
    r = z / z;
    printf("invalid after 0/0 %d\n", fetestexcept(FE_INVALID) != 0);
}

static const struct {
    const char *name;
    void (*fn)(void);
} sections[] = {
    {"arith", arith},           {"libm", libm},    {"float", float_math},
    {"printf", print_doubles},  {"strtod", parse}, {"integrate", integrate},
    {"longdouble", longdouble}, {"fenv", fenv},
};

int main(int argc, char **argv)
{
    size_t n = sizeof(sections) / sizeof(sections[0]);
    for (size_t i = 0; i < n; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], sections[i].name) == 0;
        if (!want)
            continue;
        printf("== %s\n", sections[i].name);
        sections[i].fn();
    }
    return 0;
}
