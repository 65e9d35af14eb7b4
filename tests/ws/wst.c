/* placeholder being replaced in this session */
extern int rtwt_ws_placeholder;
int rtwt_ws_placeholder;
