
    
    



select survey_answers
from "warehouse"."marts"."reach_daily"
where survey_answers is null


